//! The local stand-in for push, SMS, voice and e-mail providers, used by `burgernet dev`: every
//! message "sent" is printed and kept in memory, newest first, for `GET /dev/outbox`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How many messages the outbox keeps; older ones are dropped.
const CAPACITY: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxChannel {
    Push,
    Sms,
    /// A text-to-speech call: the body is the script that is read.
    Voice,
    Email,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxMessage {
    pub id: u64,
    pub channel: OutboxChannel,
    /// Phone number, e-mail address or device token, as the provider would receive it.
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    /// Provider-specific extras (push payload fields, sender id, ...).
    pub metadata: serde_json::Value,
    pub received_at: DateTime<Utc>,
}

/// A message to hand to the outbox.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub channel: OutboxChannel,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub metadata: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct LocalOutbox {
    messages: Arc<Mutex<VecDeque<OutboxMessage>>>,
    next_id: Arc<AtomicU64>,
}

impl LocalOutbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the message and prints it (with the recipient masked: terminals end up in logs).
    pub fn deliver(&self, message: OutgoingMessage) -> OutboxMessage {
        let stored = OutboxMessage {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            channel: message.channel,
            recipient: message.recipient,
            subject: message.subject,
            body: message.body,
            metadata: message.metadata,
            received_at: Utc::now(),
        };
        println!(
            "outbox: {:?} #{} to {}: {}",
            stored.channel,
            stored.id,
            mask_recipient(&stored.recipient),
            stored.subject.as_deref().unwrap_or(&stored.body)
        );
        let mut messages = self.messages.lock().expect("outbox lock");
        messages.push_front(stored.clone());
        messages.truncate(CAPACITY);
        stored
    }

    pub fn newest_first(&self, limit: usize) -> Vec<OutboxMessage> {
        self.messages.lock().expect("outbox lock").iter().take(limit).cloned().collect()
    }
}

/// Keeps the first three and last two characters: enough to tell test recipients apart.
pub fn mask_recipient(recipient: &str) -> String {
    let chars: Vec<char> = recipient.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sms(body: &str) -> OutgoingMessage {
        OutgoingMessage {
            channel: OutboxChannel::Sms,
            recipient: "+31612345678".into(),
            subject: None,
            body: body.into(),
            metadata: serde_json::Value::Null,
        }
    }

    #[test]
    fn lists_newest_first_and_keeps_a_bounded_number() {
        let outbox = LocalOutbox::new();
        for n in 0..CAPACITY + 5 {
            outbox.deliver(sms(&format!("message {n}")));
        }
        let listed = outbox.newest_first(CAPACITY + 10);
        assert_eq!(listed.len(), CAPACITY);
        assert_eq!(listed[0].body, format!("message {}", CAPACITY + 4));
        assert!(listed[0].id > listed[1].id);
    }

    #[test]
    fn masks_recipients() {
        assert_eq!(mask_recipient("+31612345678"), "+31*******78");
        assert_eq!(mask_recipient("abc"), "***");
    }
}
