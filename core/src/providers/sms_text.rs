//! SMS text built for the medium: how many messages a text costs, and shortening it to a budget.
//!
//! An SMS carries 140 bytes. Text in the GSM 03.38 alphabet (GSM-7) packs 160 characters into
//! that; one character outside it makes the whole message UCS-2 (UTF-16), and then only 70 fit.
//! Longer texts are split into concatenated parts that each lose room to the joining header: 153
//! septets or 67 UTF-16 units. Characters of GSM's extension table (`€`, `[`, `{`, ...) take two
//! septets, an escape and the character, and neither they nor a UTF-16 surrogate pair are ever
//! split across parts.
//!
//! So a stray curly quote from a word processor would more than double the cost of an alert.
//! Before choosing UCS-2, [`prepare`] replaces characters that have a faithful GSM-7 form
//! (typographic quotes and dashes, the ellipsis, non-breaking spaces, accented letters GSM lacks
//! such as `ë` and `ï`); text that still needs other characters (an emoji, Arabic, Polish) goes
//! out unchanged as UCS-2.

/// How an SMS is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    /// The GSM 03.38 7-bit alphabet.
    Gsm7,
    /// UTF-16, for text GSM-7 cannot carry.
    Ucs2,
}

impl SmsEncoding {
    /// Room in a message that is not split.
    pub fn single_capacity(self) -> usize {
        match self {
            Self::Gsm7 => 160,
            Self::Ucs2 => 70,
        }
    }

    /// Room in each part of a concatenated message.
    pub fn part_capacity(self) -> usize {
        match self {
            Self::Gsm7 => 153,
            Self::Ucs2 => 67,
        }
    }

    /// What `c` costs: septets for GSM-7, UTF-16 units for UCS-2.
    fn cost(self, c: char) -> usize {
        match self {
            Self::Gsm7 if GSM7_EXTENSION.contains(c) => 2,
            Self::Gsm7 => 1,
            Self::Ucs2 => c.len_utf16(),
        }
    }
}

/// A text ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsText {
    pub body: String,
    pub encoding: SmsEncoding,
    /// How many SMS the body is sent as (1 for an empty body).
    pub segments: usize,
}

/// The GSM 03.38 basic character set (the escape to the extension table left out).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                          ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The GSM 03.38 extension table: each costs an escape septet and its own.
const GSM7_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// Characters outside GSM-7 with a faithful GSM-7 form.
fn gsm7_replacement(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' | '´' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '«' | '»' => "\"",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}' => "-",
        '\u{2026}' => "...",
        '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\t' => " ",
        'ë' | 'ê' => "e",
        'ï' | 'î' | 'í' => "i",
        'á' | 'â' | 'ã' => "a",
        'ó' | 'ô' | 'õ' => "o",
        'ú' | 'û' => "u",
        'ç' => "Ç",
        'Ë' | 'Ê' | 'È' => "E",
        'Ï' | 'Î' | 'Í' | 'Ì' => "I",
        'Á' | 'Â' | 'À' | 'Ã' => "A",
        'Ó' | 'Ô' | 'Ò' | 'Õ' => "O",
        'Ú' | 'Û' | 'Ù' => "U",
        'ĳ' => "ij",
        'Ĳ' => "IJ",
        _ => return None,
    })
}

fn is_gsm7(c: char) -> bool {
    GSM7_BASIC.contains(c) || GSM7_EXTENSION.contains(c)
}

/// `text` in GSM-7 where it can be said faithfully in GSM-7, else unchanged in UCS-2.
fn encode(text: &str) -> (String, SmsEncoding) {
    let mut gsm = String::with_capacity(text.len());
    for c in text.chars() {
        if is_gsm7(c) {
            gsm.push(c);
        } else if let Some(replacement) = gsm7_replacement(c) {
            gsm.push_str(replacement);
        } else {
            return (text.to_string(), SmsEncoding::Ucs2);
        }
    }
    (gsm, SmsEncoding::Gsm7)
}

/// How many SMS `body` takes in `encoding`, never splitting a character across parts.
pub fn count_segments(body: &str, encoding: SmsEncoding) -> usize {
    let total: usize = body.chars().map(|c| encoding.cost(c)).sum();
    if total <= encoding.single_capacity() {
        return 1;
    }
    let capacity = encoding.part_capacity();
    let (mut segments, mut used) = (1, 0);
    for cost in body.chars().map(|c| encoding.cost(c)) {
        if used + cost > capacity {
            segments += 1;
            used = 0;
        }
        used += cost;
    }
    segments
}

/// `text` in the cheapest faithful encoding, with what it costs; not shortened.
pub fn prepare(text: &str) -> SmsText {
    let (body, encoding) = encode(text);
    let segments = count_segments(&body, encoding);
    SmsText { body, encoding, segments }
}

/// What a shortened text ends with.
const ELLIPSIS: &str = "...";

/// `text` in at most `max_segments` SMS (at least 1): whole if it fits, else cut at the last
/// word boundary that fits and ended with `...`. A single word too long for the budget is cut
/// between characters.
pub fn fit(text: &str, max_segments: usize) -> SmsText {
    fit_with_tail(text, "", max_segments)
}

/// `head` followed by `tail` in at most `max_segments` SMS (at least 1), shortening only the head
/// (as [`fit`] does): for a tail that must arrive whole, such as the number to call back. Put the
/// separator (`"\n"`) at the start of `tail`. When not even the tail fits, the head is left out
/// and the tail is shortened instead.
pub fn fit_with_tail(head: &str, tail: &str, max_segments: usize) -> SmsText {
    let max_segments = max_segments.max(1);
    let whole = prepare(&format!("{head}{tail}"));
    if whole.segments <= max_segments {
        return whole;
    }
    let shortened = |cut: usize| {
        let kept = head[..cut].trim_end_matches(|c: char| c.is_whitespace() || ",;:.-".contains(c));
        if kept.is_empty() { prepare(tail) } else { prepare(&format!("{kept}{ELLIPSIS}{tail}")) }
    };
    let fits = |cut: usize| shortened(cut).segments <= max_segments;
    if !fits(0) {
        // Only a tail can fail to fit on its own: an empty text is one SMS.
        return fit(tail, max_segments);
    }
    let word_ends: Vec<usize> =
        head.char_indices().filter(|&(at, c)| c.is_whitespace() && at > 0).map(|(at, _)| at).collect();
    let char_ends: Vec<usize> = head.char_indices().map(|(at, _)| at).skip(1).collect();
    let cut = longest_fitting(&word_ends, &fits).or_else(|| longest_fitting(&char_ends, &fits)).unwrap_or(0);
    shortened(cut)
}

/// The last of `cuts` (ascending) for which `fits` holds, given that once it fails for a cut it
/// fails for every later one: a longer text never costs fewer segments.
fn longest_fitting(cuts: &[usize], fits: &impl Fn(usize) -> bool) -> Option<usize> {
    let fitting = cuts.partition_point(|&cut| fits(cut));
    fitting.checked_sub(1).map(|last| cuts[last])
}

#[cfg(test)]
mod tests {
    use super::*;
    use SmsEncoding::{Gsm7, Ucs2};

    fn costs(text: &str) -> (SmsEncoding, usize) {
        let prepared = prepare(text);
        (prepared.encoding, prepared.segments)
    }

    #[test]
    fn gsm7_boundaries_are_160_then_153_a_part() {
        for (length, segments) in [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
        {
            assert_eq!(costs(&"a".repeat(length)), (Gsm7, segments), "{length} characters");
        }
    }

    #[test]
    fn ucs2_boundaries_are_70_then_67_a_part() {
        for (length, segments) in [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)] {
            assert_eq!(costs(&"Ж".repeat(length)), (Ucs2, segments), "{length} characters");
        }
    }

    #[test]
    fn the_whole_basic_set_is_gsm7_and_stays_as_it_is() {
        let prepared = prepare(GSM7_BASIC);
        assert_eq!((prepared.encoding, prepared.body.as_str()), (Gsm7, GSM7_BASIC));
        assert_eq!(costs("Dit is één bericht met ä, ö, ü, ñ, à, è, é, ù, ì, ò, Ç en ß."), (Gsm7, 1));
    }

    #[test]
    fn extension_characters_count_twice() {
        assert_eq!(costs(&"€".repeat(80)), (Gsm7, 1));
        assert_eq!(costs(&"€".repeat(81)), (Gsm7, 2));
        assert_eq!(costs(&format!("{}[", "a".repeat(158))), (Gsm7, 1));
        assert_eq!(costs(&format!("{}[", "a".repeat(159))), (Gsm7, 2));
        for c in "^{}\\[~]|€\u{0C}".chars() {
            assert_eq!(count_segments(&format!("{}{c}", "a".repeat(159)), Gsm7), 2, "{c:?}");
        }
    }

    #[test]
    fn an_escaped_character_is_never_split_across_parts() {
        // 152 septets, then '€' (2) would straddle the end of the first part: it moves to the
        // second, which then holds 2 + 152 = 154 > 153, so a third part is needed.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(count_segments(&text, Gsm7), 3);
        let text = format!("{}€{}", "a".repeat(151), "a".repeat(153));
        assert_eq!(count_segments(&text, Gsm7), 2);
    }

    #[test]
    fn an_emoji_is_two_utf16_units_and_never_split() {
        assert_eq!(costs(&format!("{}🚨", "a".repeat(68))), (Ucs2, 1));
        assert_eq!(costs(&format!("{}🚨", "a".repeat(69))), (Ucs2, 2));
        // 66 units, then the emoji's two units straddle the part's end: it moves on.
        assert_eq!(count_segments(&format!("{}🚨{}", "a".repeat(66), "a".repeat(66)), Ucs2), 3);
        assert_eq!(count_segments(&format!("{}🚨{}", "a".repeat(65), "a".repeat(67)), Ucs2), 2);
    }

    #[test]
    fn typography_and_accents_gsm_lacks_are_transliterated() {
        let prepared = prepare("“Gezocht” – ‘Noël’ uit Zoë’s straat… ç\u{00A0}ĳs");
        assert_eq!(prepared.encoding, Gsm7);
        assert_eq!(prepared.body, "\"Gezocht\" - 'Noel' uit Zoe's straat... Ç ijs");
    }

    #[test]
    fn text_gsm_cannot_carry_goes_unchanged_as_ucs2() {
        for text in ["Let op 🚨 “vermist”", "Łódź", "مفقود"] {
            let prepared = prepare(text);
            assert_eq!((prepared.encoding, prepared.body.as_str()), (Ucs2, text));
        }
    }

    #[test]
    fn text_that_fits_is_left_alone() {
        let text = "Vermist: jongen van 8, rode jas.";
        assert_eq!(fit(text, 3), prepare(text));
        let exactly_three = "a".repeat(459);
        assert_eq!(fit(&exactly_three, 3).body, exactly_three);
    }

    #[test]
    fn a_long_text_is_cut_at_a_word_boundary_and_ends_with_an_ellipsis() {
        let text = "woord ".repeat(100);
        let fitted = fit(&text, 3);
        assert_eq!((fitted.encoding, fitted.segments), (Gsm7, 3));
        assert!(fitted.body.ends_with("woord..."), "{}", fitted.body);
        assert!(fitted.body.chars().count() <= 459);
        // The next word would not have fitted.
        assert!(fitted.body.len() + "woord ".len() > 459, "{}", fitted.body.len());
        assert!(text.starts_with(fitted.body.trim_end_matches("...")));
    }

    #[test]
    fn fit_respects_one_segment_and_trims_trailing_punctuation() {
        let text = format!("{}, en nog veel meer tekst", "a".repeat(155));
        let fitted = fit(&text, 1);
        assert_eq!(fitted.body, format!("{}...", "a".repeat(155)));
        assert_eq!(fitted.segments, 1);
        assert_eq!(fit(&text, 0).segments, 1, "zero means one");
    }

    #[test]
    fn a_single_word_too_long_is_cut_between_characters() {
        let fitted = fit(&"🚨".repeat(200), 1);
        assert_eq!(fitted.encoding, Ucs2);
        assert_eq!(fitted.body, format!("{}...", "🚨".repeat(33)));
        assert_eq!(fitted.segments, 1);
    }

    #[test]
    fn cutting_away_the_only_non_gsm_character_makes_the_text_gsm7_again() {
        let text = format!("{} 🚨", "woord ".repeat(30));
        let fitted = fit(&text, 1);
        assert_eq!(fitted.encoding, Gsm7);
        assert!(fitted.body.ends_with("woord..."), "{}", fitted.body);
    }

    #[test]
    fn the_tail_arrives_whole_and_only_the_head_is_shortened() {
        let tail = "\nTips? Bel 0800-7000 (gratis).";
        let head = "Vermist: meisje van 6 jaar, blond haar, roze jas. ".repeat(20);
        let fitted = fit_with_tail(&head, tail, 2);
        assert_eq!((fitted.encoding, fitted.segments), (Gsm7, 2));
        assert!(fitted.body.ends_with(&format!("...{tail}")), "{}", fitted.body);
        assert!(fitted.body.chars().count() <= 306);
        let short = fit_with_tail("Vermist: meisje.", tail, 2);
        assert_eq!(short.body, format!("Vermist: meisje.{tail}"));
    }

    #[test]
    fn a_tail_that_needs_ucs2_makes_the_whole_message_ucs2() {
        let fitted = fit_with_tail(&"tekst ".repeat(40), " 🚨", 1);
        assert_eq!((fitted.encoding, fitted.segments), (Ucs2, 1));
        assert!(fitted.body.ends_with("... 🚨"), "{}", fitted.body);
    }

    #[test]
    fn when_not_even_the_tail_fits_the_head_goes_and_the_tail_is_shortened() {
        let tail = "bel ".repeat(60);
        let fitted = fit_with_tail("Vermist", &tail, 1);
        assert_eq!(fitted.segments, 1);
        assert!(fitted.body.starts_with("bel bel") && fitted.body.ends_with("bel..."), "{}", fitted.body);
    }
}
