//! `SmtpSink`: a real SMTP server on 127.0.0.1 that speaks enough of RFC 5321 and RFC 4954 for
//! lettre (and for a mail relay's clients in general), demands the user name and password it
//! generated, keeps every message it accepts, and can be told to refuse or to answer slowly.
//!
//! ```ignore
//! let sink = SmtpSink::start().await;
//! let sender = sink.email_sender(); // or put sink.smtp_config() in the app's config
//! sender.send(&message).await?;
//! let mail = &sink.messages()[0];
//! assert!(mail.text_body.contains("https://burgernet.nl/verify?token="));
//!
//! sink.fail_next(1, SmtpFailure::MailboxUnavailable); // the next recipient gets 550
//! ```
//!
//! The conversation: greeting `220`; `EHLO` advertises `AUTH PLAIN LOGIN`, `8BITMIME`,
//! `SMTPUTF8`, `ENHANCEDSTATUSCODES` and `SIZE` (no `STARTTLS`: the sink speaks plain TCP);
//! `AUTH PLAIN` and `AUTH LOGIN` (with or without an initial response) answer `235`, or `535` for
//! wrong credentials; `MAIL` before a successful `AUTH` gets `530`; then `MAIL FROM`, `RCPT TO`,
//! `DATA` (dot-unstuffed, ended by `<CRLF>.<CRLF>`), `RSET`, `NOOP`, `QUIT`. Replies carry enhanced
//! status codes and, like Postfix, a refused recipient's address.
//!
//! Every connection has its own task; a client that disconnects, or stays silent for a minute,
//! ends it, and dropping the sink ends them all.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use burgernet_core::providers::email::{EmailSender, SmtpConfig, SmtpMailer};
use burgernet_core::secret::Secret;
use rand::Rng;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// How long the `wait_for_*` helpers wait before failing the test.
const WAIT_LIMIT: Duration = Duration::from_secs(10);
/// A connection that sends nothing for this long is closed.
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// RFC 5321 allows 1000 octets per text line; a little slack for sloppy clients.
const MAX_LINE: usize = 4096;
/// Advertised with `SIZE`; larger messages get 552.
const MAX_MESSAGE: usize = 10 * 1024 * 1024;
/// What the mail provider signs its bounce reports with in `smtp_config()`.
pub const BOUNCE_WEBHOOK_SECRET: &str = "test-mail-provider-bounce-webhook-secret";

/// The sender address `smtp_config()` uses.
pub const FROM: &str = "Burgernet <noreply@burgernet.nl>";

/// A message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedEmail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), without angle brackets.
    pub to: Vec<String>,
    /// The message as received after `DATA`: headers and body, CRLF line ends, dots unstuffed.
    pub data: String,
    /// The `Subject` header, unfolded and with RFC 2047 encoded words decoded.
    pub subject: String,
    /// The body of a single-part message, decoded from its transfer encoding (7bit, 8bit,
    /// quoted-printable or base64) into text, with `\n` line ends. The line break that ends the
    /// message data is SMTP framing (lettre adds one) and is not part of it.
    pub text_body: String,
}

impl ReceivedEmail {
    /// A header's value (the first, if repeated), unfolded and with encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = split_message(&self.data);
        header_value(&headers, name)
    }
}

/// A refusal to give instead of accepting a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpFailure {
    /// `451 4.3.0` after the message data: a temporary problem on the server's side.
    Transient,
    /// `550 5.1.1` to `RCPT TO`: the mailbox does not exist.
    MailboxUnavailable,
}

#[derive(Default)]
struct State {
    messages: Vec<ReceivedEmail>,
    failures: VecDeque<SmtpFailure>,
    latency: Duration,
    queued: u64,
}

struct Shared {
    username: String,
    password: String,
    state: Mutex<State>,
    changed: Notify,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("SMTP sink state")
    }

    /// Takes the next injected failure if it is `kind`.
    fn take_failure(&self, kind: SmtpFailure) -> bool {
        let mut state = self.state();
        if state.failures.front() == Some(&kind) {
            state.failures.pop_front();
            true
        } else {
            false
        }
    }
}

/// The SMTP sink; stops, with all its connections, when dropped.
pub struct SmtpSink {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts the sink on a free port of 127.0.0.1 with a fresh random password.
    pub async fn start() -> Self {
        let password: String =
            rand::rng().sample_iter(rand::distr::Alphanumeric).take(24).map(char::from).collect();
        let shared = Arc::new(Shared {
            username: "burgernet-test".into(),
            password,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for the SMTP sink");
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(accept(listener, shared.clone()));
        Self { address, shared, server }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn username(&self) -> &str {
        &self.shared.username
    }

    pub fn password(&self) -> &str {
        &self.shared.password
    }

    /// `smtp://<user>:<password>@127.0.0.1:<port>`: plain SMTP with the right credentials.
    pub fn url(&self) -> String {
        self.url_with_credentials(&self.shared.username, &self.shared.password)
    }

    /// The sink's URL with other credentials (percent-encoded here), to test refusals.
    pub fn url_with_credentials(&self, username: &str, password: &str) -> String {
        format!("smtp://{}:{}@{}", percent_encode(username), percent_encode(password), self.address)
    }

    /// A client configuration for this sink: [`Self::url`], sender [`FROM`], a 5 s timeout.
    pub fn smtp_config(&self) -> SmtpConfig {
        SmtpConfig {
            url: Secret::new(self.url()),
            from: FROM.parse().expect("a valid sender"),
            timeout: Duration::from_secs(5),
            webhook_secrets: vec![Secret::new(BOUNCE_WEBHOOK_SECRET.into())],
        }
    }

    /// A real client for this sink, built from [`Self::smtp_config`].
    pub fn email_sender(&self) -> EmailSender {
        EmailSender::Smtp(SmtpMailer::new(self.smtp_config()).expect("build the SMTP client"))
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedEmail> {
        self.shared.state().messages.clone()
    }

    /// Waits until at least `count` messages were accepted (at most 10 s, then the test fails) and
    /// returns them all.
    pub async fn wait_for_messages(&self, count: usize) -> Vec<ReceivedEmail> {
        let waiting = async {
            loop {
                let changed = self.shared.changed.notified();
                let messages = self.messages();
                if messages.len() >= count {
                    return messages;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(WAIT_LIMIT, waiting).await {
            Ok(messages) => messages,
            Err(_) => panic!("the SMTP sink received {} of {count} messages", self.messages().len()),
        }
    }

    /// The next `count` chances to fail this way are taken: [`SmtpFailure::MailboxUnavailable`] at
    /// the next `RCPT TO`s, [`SmtpFailure::Transient`] at the end of the next `DATA`s. Failures are
    /// used in the order given; one waits until those before it are used.
    pub fn fail_next(&self, count: usize, failure: SmtpFailure) {
        self.shared.state().failures.extend(std::iter::repeat_n(failure, count));
    }

    /// Delays every reply from now on by `latency` (`Duration::ZERO` to stop).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.state().latency = latency;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // The accept task owns the connection tasks: aborting it ends them too.
        self.server.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, shared.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The transaction state of one connection.
#[derive(Default)]
struct Session {
    greeted: bool,
    authenticated: bool,
    mail_from: Option<String>,
    recipients: Vec<String>,
}

impl Session {
    fn reset(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
    }
}

struct Connection<R, W> {
    reader: BufReader<R>,
    writer: W,
    shared: Arc<Shared>,
}

/// Ends quietly when the client goes away; the result only says why.
async fn serve(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let mut connection = Connection { reader: BufReader::new(reader), writer, shared };
    connection.converse().await
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Connection<R, W> {
    async fn converse(&mut self) -> std::io::Result<()> {
        self.reply("220 127.0.0.1 ESMTP Burgernet test sink").await?;
        let mut session = Session::default();
        loop {
            let Some(line) = self.read_line().await? else { return Ok(()) };
            let line = String::from_utf8_lossy(&line).into_owned();
            let (verb, argument) = match line.split_once(' ') {
                Some((verb, argument)) => (verb.to_ascii_uppercase(), argument.trim()),
                None => (line.to_ascii_uppercase(), ""),
            };
            match verb.as_str() {
                "EHLO" | "HELO" if argument.is_empty() => {
                    self.reply("501 5.5.4 Syntax: EHLO hostname").await?;
                }
                "EHLO" => {
                    session.greeted = true;
                    session.reset();
                    self.reply(&format!(
                        "250-127.0.0.1 greets {argument}\r\n250-SIZE {MAX_MESSAGE}\r\n250-8BITMIME\r\n\
                         250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN"
                    ))
                    .await?;
                }
                "HELO" => {
                    session.greeted = true;
                    session.reset();
                    self.reply("250 127.0.0.1").await?;
                }
                "AUTH" => self.auth(&mut session, argument).await?,
                "MAIL" => self.mail(&mut session, argument).await?,
                "RCPT" => self.rcpt(&mut session, argument).await?,
                "DATA" => {
                    if !self.data(&mut session).await? {
                        return Ok(());
                    }
                }
                "RSET" => {
                    session.reset();
                    self.reply("250 2.0.0 Ok").await?;
                }
                "NOOP" => self.reply("250 2.0.0 Ok").await?,
                "VRFY" => self.reply("252 2.0.0 Cannot VRFY user").await?,
                "QUIT" => {
                    self.reply("221 2.0.0 Bye").await?;
                    return Ok(());
                }
                _ => self.reply("502 5.5.2 Error: command not recognized").await?,
            }
        }
    }

    async fn auth(&mut self, session: &mut Session, argument: &str) -> std::io::Result<()> {
        if !session.greeted {
            return self.reply("503 5.5.1 Error: send HELO/EHLO first").await;
        }
        if session.authenticated {
            return self.reply("503 5.5.1 Error: already authenticated").await;
        }
        if session.mail_from.is_some() {
            return self.reply("503 5.5.1 Error: MAIL transaction in progress").await;
        }
        let mut words = argument.split_whitespace();
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next().map(str::to_string);
        let credentials = match mechanism.as_str() {
            "PLAIN" => {
                let Some(response) = self.challenge(initial, "").await? else { return Ok(()) };
                // authorization identity NUL authentication identity NUL password
                let decoded = decode_base64_text(&response).unwrap_or_default();
                match decoded.split('\0').collect::<Vec<_>>().as_slice() {
                    [_, username, password] => Some((username.to_string(), password.to_string())),
                    _ => None,
                }
            }
            "LOGIN" => {
                let Some(username) = self.challenge(initial, "VXNlcm5hbWU6").await? else { return Ok(()) };
                let Some(password) = self.challenge(None, "UGFzc3dvcmQ6").await? else { return Ok(()) };
                decode_base64_text(&username).zip(decode_base64_text(&password))
            }
            _ => return self.reply("504 5.5.4 Unrecognized authentication type").await,
        };
        match credentials {
            None => self.reply("501 5.5.2 Cannot decode response").await,
            Some((username, password))
                if username == self.shared.username && password == self.shared.password =>
            {
                session.authenticated = true;
                self.reply("235 2.7.0 Authentication successful").await
            }
            Some(_) => self.reply("535 5.7.8 Error: authentication failed: authentication failure").await,
        }
    }

    /// The client's answer to a `334` challenge (or its initial response); `None` when it
    /// cancelled with `*` or went away (the cancel is answered here).
    async fn challenge(&mut self, initial: Option<String>, prompt: &str) -> std::io::Result<Option<String>> {
        let response = match initial {
            Some(initial) => initial,
            None => {
                self.reply(&format!("334 {prompt}")).await?;
                match self.read_line().await? {
                    Some(line) => String::from_utf8_lossy(&line).trim().to_string(),
                    None => return Ok(None),
                }
            }
        };
        if response == "*" {
            self.reply("501 5.7.0 Authentication aborted").await?;
            return Ok(None);
        }
        Ok(Some(response))
    }

    async fn mail(&mut self, session: &mut Session, argument: &str) -> std::io::Result<()> {
        if !session.greeted {
            return self.reply("503 5.5.1 Error: send HELO/EHLO first").await;
        }
        if !session.authenticated {
            return self.reply("530 5.7.0 Authentication required").await;
        }
        if session.mail_from.is_some() {
            return self.reply("503 5.5.1 Error: nested MAIL command").await;
        }
        match path_argument(argument, "FROM:") {
            Some(from) => {
                session.mail_from = Some(from);
                self.reply("250 2.1.0 Ok").await
            }
            None => self.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await,
        }
    }

    async fn rcpt(&mut self, session: &mut Session, argument: &str) -> std::io::Result<()> {
        if session.mail_from.is_none() {
            return self.reply("503 5.5.1 Error: need MAIL command").await;
        }
        let Some(recipient) = path_argument(argument, "TO:").filter(|address| !address.is_empty()) else {
            return self.reply("501 5.1.3 Bad recipient address syntax").await;
        };
        if session.recipients.len() >= 100 {
            return self.reply("452 4.5.3 Error: too many recipients").await;
        }
        if self.shared.take_failure(SmtpFailure::MailboxUnavailable) {
            let refusal = format!(
                "550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in local recipient table"
            );
            return self.reply(&refusal).await;
        }
        session.recipients.push(recipient);
        self.reply("250 2.1.5 Ok").await
    }

    /// Returns false when the client went away in the middle of the message.
    async fn data(&mut self, session: &mut Session) -> std::io::Result<bool> {
        if session.mail_from.is_none() {
            self.reply("503 5.5.1 Error: need MAIL command").await?;
            return Ok(true);
        }
        if session.recipients.is_empty() {
            self.reply("554 5.5.1 Error: no valid recipients").await?;
            return Ok(true);
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        let mut data = Vec::new();
        let mut too_large = false;
        loop {
            let Some(line) = self.read_line().await? else { return Ok(false) };
            if line == b"." {
                break;
            }
            // RFC 5321 4.5.2: a leading dot was doubled by the client.
            let line = line.strip_prefix(b".").unwrap_or(&line);
            if data.len() + line.len() + 2 > MAX_MESSAGE {
                too_large = true;
                continue;
            }
            data.extend_from_slice(line);
            data.extend_from_slice(b"\r\n");
        }
        let from = session.mail_from.take().unwrap_or_default();
        let to = std::mem::take(&mut session.recipients);
        if too_large {
            self.reply("552 5.3.4 Message size exceeds fixed limit").await?;
            return Ok(true);
        }
        if self.shared.take_failure(SmtpFailure::Transient) {
            self.reply("451 4.3.0 Error: queue file write error").await?;
            return Ok(true);
        }
        let data = String::from_utf8_lossy(&data).into_owned();
        let (headers, body) = split_message(&data);
        let email = ReceivedEmail {
            subject: header_value(&headers, "Subject").unwrap_or_default(),
            text_body: decode_body(&headers, body),
            from,
            to,
            data,
        };
        let queued = {
            let mut state = self.shared.state();
            state.messages.push(email);
            state.queued += 1;
            state.queued
        };
        self.shared.changed.notify_waiters();
        self.reply(&format!("250 2.0.0 Ok: queued as {queued:08X}")).await?;
        Ok(true)
    }

    /// The next line without its line end; `None` at end of input, after a minute of silence, or
    /// for a line too long to be SMTP.
    async fn read_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let mut limited = (&mut self.reader).take(MAX_LINE as u64);
        match tokio::time::timeout(IDLE_LIMIT, limited.read_until(b'\n', &mut line)).await {
            Err(_) | Ok(Ok(0)) => return Ok(None),
            Ok(Err(error)) => return Err(error),
            Ok(Ok(_)) => {}
        }
        if !line.ends_with(b"\n") {
            if line.len() >= MAX_LINE {
                self.reply("500 5.5.0 Error: line too long").await?;
            }
            return Ok(None);
        }
        line.pop();
        if line.ends_with(b"\r") {
            line.pop();
        }
        Ok(Some(line))
    }

    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        let latency = self.shared.state().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.writer.write_all(format!("{text}\r\n").as_bytes()).await?;
        self.writer.flush().await
    }
}

/// `FROM:<address> [parameters]` → `address` (empty for the null sender `<>`).
fn path_argument(argument: &str, keyword: &str) -> Option<String> {
    let prefix = argument.get(..keyword.len())?;
    if !prefix.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let path = argument[keyword.len()..].trim_start();
    let path = path.strip_prefix('<')?;
    let end = path.find('>')?;
    Some(path[..end].to_string())
}

fn decode_base64_text(encoded: &str) -> Option<String> {
    BASE64.decode(encoded.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The unfolded header lines and the body.
fn split_message(data: &str) -> (Vec<String>, &str) {
    let (head, body) = match data.find("\r\n\r\n") {
        Some(end) => (&data[..end], &data[end + 4..]),
        None => (data.trim_end_matches("\r\n"), ""),
    };
    let mut headers: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match headers.last_mut() {
            // RFC 5322 2.2.3: unfolding removes the line break, keeps the white space.
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => headers.push(line.to_string()),
        }
    }
    (headers, body)
}

fn header_value(headers: &[String], name: &str) -> Option<String> {
    headers.iter().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| decode_encoded_words(value.trim()))
    })
}

/// The body as text, undoing the `Content-Transfer-Encoding`.
fn decode_body(headers: &[String], body: &str) -> String {
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    let encoding =
        header_value(headers, "Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => {
            quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust).unwrap_or_default()
        }
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            BASE64.decode(compact).unwrap_or_default()
        }
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?UTF-8?Q?...?=`); white space between two
/// encoded words is dropped, as the RFC says. Charsets other than UTF-8 and ASCII are read as
/// Latin-1.
fn decode_encoded_words(value: &str) -> String {
    let mut decoded = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match parse_encoded_word(candidate) {
            Some((text, length)) => {
                if !(after_word && before.trim().is_empty()) {
                    decoded.push_str(before);
                }
                decoded.push_str(&text);
                rest = &candidate[length..];
                after_word = true;
            }
            None => {
                decoded.push_str(before);
                decoded.push_str("=?");
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

/// One encoded word at the start of `text`: its decoded text and its length.
fn parse_encoded_word(text: &str) -> Option<(String, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let payload = &inner[..end];
    if payload.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => BASE64.decode(payload).ok()?,
        "Q" | "q" => {
            let underscores_as_spaces = payload.replace('_', " ");
            quoted_printable::decode(underscores_as_spaces.as_bytes(), quoted_printable::ParseMode::Robust)
                .ok()?
        }
        _ => return None,
    };
    let charset = charset.split('*').next().unwrap_or_default().to_ascii_lowercase();
    let text_value = match charset.as_str() {
        "utf-8" | "us-ascii" => String::from_utf8_lossy(&bytes).into_owned(),
        _ => bytes.iter().map(|&b| b as char).collect(),
    };
    // `inner` is the tail of `text` after `=?charset?encoding?`.
    let length = text.len() - inner.len() + end + "?=".len();
    Some((text_value, length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words() {
        assert_eq!(decode_encoded_words("Plain subject"), "Plain subject");
        assert_eq!(decode_encoded_words("=?utf-8?b?w6nDqW4=?= keer"), "één keer");
        assert_eq!(decode_encoded_words("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=n"), "één");
        assert_eq!(decode_encoded_words("=?UTF-8?Q?=C3=A9=C3=A9n_keer?="), "één keer");
        assert_eq!(decode_encoded_words("a =? b"), "a =? b");
    }

    #[test]
    fn splits_and_unfolds_headers() {
        let (headers, body) = split_message("Subject: a\r\n long\r\nTo: x\r\n\r\nbody\r\n");
        assert_eq!(headers, ["Subject: a long", "To: x"]);
        assert_eq!(body, "body\r\n");
    }
}
