// What an alert costs as SMS, counted exactly as the server counts it
// (core/src/providers/sms_text.rs and core/src/alerts/delivery/render.rs): GSM 03.38 with its
// extension table (two septets each), faithful GSM-7 replacements for typographic characters,
// else UCS-2; 160/153 septets or 70/67 UTF-16 units; never a character split across parts; an
// alert is cut to at most three parts, keeping the call-back line.

export const MAX_SMS_SEGMENTS = 3;

const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "\f^{}\\[~]|€";

const REPLACEMENTS = new Map([
  ..."\u2018\u2019\u201A\u201B\u2032`´".split("").map((c) => [c, "'"]),
  ..."\u201C\u201D\u201E\u201F\u2033«»".split("").map((c) => [c, '"']),
  ..."\u2010\u2011\u2012\u2013\u2014\u2212".split("").map((c) => [c, "-"]),
  ["\u2026", "..."],
  ..."\u00A0\u2007\u202F\t".split("").map((c) => [c, " "]),
  ..."ëê".split("").map((c) => [c, "e"]),
  ..."ïîí".split("").map((c) => [c, "i"]),
  ..."áâã".split("").map((c) => [c, "a"]),
  ..."óôõ".split("").map((c) => [c, "o"]),
  ..."úû".split("").map((c) => [c, "u"]),
  ["ç", "Ç"],
  ..."ËÊÈ".split("").map((c) => [c, "E"]),
  ..."ÏÎÍÌ".split("").map((c) => [c, "I"]),
  ..."ÁÂÀÃ".split("").map((c) => [c, "A"]),
  ..."ÓÔÒÕ".split("").map((c) => [c, "O"]),
  ..."ÚÛÙ".split("").map((c) => [c, "U"]),
  ["ĳ", "ij"],
  ["Ĳ", "IJ"],
]);

const isGsm7 = (c) => GSM7_BASIC.includes(c) || GSM7_EXTENSION.includes(c);

function encode(text) {
  let gsm = "";
  for (const c of text) {
    if (isGsm7(c)) gsm += c;
    else if (REPLACEMENTS.has(c)) gsm += REPLACEMENTS.get(c);
    else return { body: text, encoding: "ucs2" };
  }
  return { body: gsm, encoding: "gsm7" };
}

function cost(c, encoding) {
  if (encoding === "ucs2") return c.length; // UTF-16 units: 2 for a character beyond the BMP
  return GSM7_EXTENSION.includes(c) ? 2 : 1;
}

export function countSegments(body, encoding) {
  const chars = [...body];
  const total = chars.reduce((sum, c) => sum + cost(c, encoding), 0);
  const single = encoding === "gsm7" ? 160 : 70;
  const part = encoding === "gsm7" ? 153 : 67;
  if (total <= single) return { segments: 1, units: total };
  let segments = 1;
  let used = 0;
  for (const c of chars) {
    const each = cost(c, encoding);
    if (used + each > part) {
      segments += 1;
      used = 0;
    }
    used += each;
  }
  return { segments, units: total };
}

export function prepare(text) {
  const { body, encoding } = encode(text);
  return { body, encoding, ...countSegments(body, encoding) };
}

const CALL = { nl: "Gezien? Bel", en: "Seen anything? Call" };

/** The alert's SMS before shortening, as the server composes it for `language`. */
export function alertSms(text, callBackNumber, language) {
  const body = text.instruction ? `${text.message}\n${text.instruction}` : text.message;
  const head = `Burgernet: ${text.title}. ${body.replace(/\n/g, " ")}`;
  const tail = callBackNumber ? ` ${CALL[language]} ${callBackNumber}.` : "";
  return prepare(head + tail);
}

/** The push as a phone shows it: title and text, with the call-back line. */
export function alertPush(text, callBackNumber, language) {
  const body = text.instruction ? `${text.message}\n${text.instruction}` : text.message;
  return {
    title: `Burgernet: ${text.title}`,
    body: callBackNumber ? `${body}\n${CALL[language]} ${callBackNumber}.` : body,
  };
}
