//! Which deliveries a recipient gets for a message: the routing rules in one place, as pure
//! functions over what is known (the recipient's choices and devices, the alert's channels, and
//! the deliveries already made), so a rerun of a batch plans exactly what is still missing.
//!
//! The alert itself (per wave):
//! - push to every device, when the alert uses push and the participant chose it;
//! - one phone route (an SMS or a call), when they have a phone number, and either they get no
//!   push (no device, or push not chosen: `no_push_device`) or every push to them failed for good
//!   (`push_failed`): the first of the alert's phone channels, in the alert's order, that the
//!   participant chose (the order comes from the category's setting, see [`ChannelOrder`]). A
//!   non-urgent alert that reaches them by e-mail makes no phone route;
//! - e-mail, for non-urgent alerts, to a verified address, when both chose e-mail.
//!
//! Updates and the closing message go to everyone reached, by the channels that reached them.
//! The third SMS rule (urgent alerts: no device acknowledged in time) is the separate
//! `SmsFallbackCheck` job, which runs after the wait.
//!
//! Each route belongs to one lane ([`Route::lane`]), and the lanes of a batch run apart: a lane
//! job hands over only its own routes. The phone rules split the recipients so that no two lanes
//! can plan the same SMS or call: the SMS and voice lanes only for recipients no push was made
//! to, the fallback lanes only for those whose every push was made and failed.

use std::collections::HashMap;

use crate::env::{ConfigError, Env};
use crate::ids::{DeviceId, ParticipantId};

use crate::vocabulary::alerts::{DeliveryState, Lane, Reason};
use crate::vocabulary::{Category, Channel, InvalidInput, distinct};

/// Where a category's alerts put the channels that reach a phone without the app: after push,
/// an SMS only, or also a call, before or after the SMS. Set per category
/// (`BURGERNET_CHANNEL_ORDER_<CATEGORY>`, e.g. `push,sms,voice`); an alert's `channels` are kept
/// in this order, and a category whose order has no call refuses `voice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    /// `push,sms`: never a call.
    PushSms,
    /// `push,sms,voice`: a call for those whom neither push nor SMS can reach.
    PushSmsVoice,
    /// `push,voice,sms`: a call before an SMS.
    PushVoiceSms,
}

impl ChannelOrder {
    const SPELLINGS: [(Self, &'static str); 3] = [
        (Self::PushSms, "push,sms"),
        (Self::PushSmsVoice, "push,sms,voice"),
        (Self::PushVoiceSms, "push,voice,sms"),
    ];

    pub fn parse(raw: &str) -> Result<Self, String> {
        let spelled: String = raw.split(',').map(str::trim).collect::<Vec<_>>().join(",");
        Self::SPELLINGS.iter().find(|(_, spelling)| *spelling == spelled).map(|(order, _)| *order).ok_or_else(
            || {
                "expected push,sms (no calls), push,sms,voice (a call after SMS) or push,voice,sms"
                    .to_string()
            },
        )
    }

    pub fn as_str(self) -> &'static str {
        Self::SPELLINGS.iter().find(|(order, _)| *order == self).map_or("", |(_, spelling)| spelling)
    }

    /// Whether alerts of the category may call.
    pub fn calls(self) -> bool {
        self != Self::PushSms
    }

    /// `channels` (without repeats) in this order: push, the phone channels as ordered, e-mail.
    pub fn arrange(self, channels: &[Channel]) -> Vec<Channel> {
        let rank = |channel: &Channel| match (channel, self) {
            (Channel::Push, _) => 0,
            (Channel::Voice, Self::PushVoiceSms) => 1,
            (Channel::Sms, _) => 2,
            (Channel::Voice, _) => 3,
            (Channel::Email, _) => 4,
        };
        let mut arranged = channels.to_vec();
        arranged.sort_by_key(rank);
        arranged
    }
}

/// The channel order of each category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelOrders {
    pub inform: ChannelOrder,
    pub engage: ChannelOrder,
    pub alarm: ChannelOrder,
    pub search: ChannelOrder,
}

impl Default for ChannelOrders {
    /// A call where a life may be at stake (a search, a disaster), after the SMS; never for news.
    fn default() -> Self {
        Self {
            inform: ChannelOrder::PushSms,
            engage: ChannelOrder::PushSms,
            alarm: ChannelOrder::PushSmsVoice,
            search: ChannelOrder::PushSmsVoice,
        }
    }
}

impl ChannelOrders {
    pub fn of(&self, category: Category) -> ChannelOrder {
        match category {
            Category::Inform => self.inform,
            Category::Engage => self.engage,
            Category::Alarm => self.alarm,
            Category::Search => self.search,
        }
    }

    /// `BURGERNET_CHANNEL_ORDER_INFORM`, `_ENGAGE`, `_ALARM` and `_SEARCH`, each `push,sms`,
    /// `push,sms,voice` or `push,voice,sms` (defaults: [`ChannelOrders::default`]).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let order = |variable, default| env.or(variable, default, ChannelOrder::parse);
        Ok(Self {
            inform: order("BURGERNET_CHANNEL_ORDER_INFORM", defaults.inform)?,
            engage: order("BURGERNET_CHANNEL_ORDER_ENGAGE", defaults.engage)?,
            alarm: order("BURGERNET_CHANNEL_ORDER_ALARM", defaults.alarm)?,
            search: order("BURGERNET_CHANNEL_ORDER_SEARCH", defaults.search)?,
        })
    }

    /// The channels a dispatcher asked for, checked and in the category's order (as the alert
    /// keeps them): at least one, `voice` only where the category calls, and not e-mail alone
    /// for an urgent alert.
    pub fn alert_channels(
        &self,
        category: Category,
        urgent: bool,
        requested: &[Channel],
    ) -> Result<Vec<Channel>, InvalidInput> {
        let order = self.of(category);
        let channels = order.arrange(&distinct(requested));
        if channels.is_empty() {
            return Err(InvalidInput::new("invalid_channels", "Name at least one channel."));
        }
        if channels.contains(&Channel::Voice) && !order.calls() {
            return Err(InvalidInput::new(
                "invalid_channels",
                format!(
                    "{} alerts do not call (their channel order is {}); leave out voice.",
                    category.as_str(),
                    order.as_str()
                ),
            ));
        }
        if urgent && channels == [Channel::Email] {
            return Err(InvalidInput::new(
                "invalid_channels",
                "Urgent alerts are not sent by e-mail; add push, SMS or a call.",
            ));
        }
        Ok(channels)
    }

    /// Whether any category calls: then a voice gateway must be configured.
    pub fn any_calls(&self) -> bool {
        [self.inform, self.engage, self.alarm, self.search].iter().any(|order| order.calls())
    }
}

/// The channels an alert is actually sent on: e-mail only when it is not urgent.
pub fn effective_channels(urgent: bool, channels: &[Channel]) -> Vec<Channel> {
    channels.iter().copied().filter(|channel| !(urgent && *channel == Channel::Email)).collect()
}

/// A push device of a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTarget {
    pub id: DeviceId,
    pub platform: crate::vocabulary::devices::Platform,
    pub token: String,
    pub apns_environment: Option<crate::vocabulary::devices::ApnsEnvironment>,
}

/// What is known about one recipient when their batch is delivered.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub participant_id: ParticipantId,
    /// Still active: a participant quarantined, removed or erased since the snapshot gets nothing.
    pub active: bool,
    pub channels: Vec<Channel>,
    pub has_phone: bool,
    pub has_verified_email: bool,
    pub devices: Vec<DeviceTarget>,
    /// The selection found them reachable by push: the push lane is theirs, and an SMS for the
    /// alert goes by the fallback lane once the push lane has ended.
    pub push_expected: bool,
}

/// One delivery to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Push(DeviceTarget),
    Sms(Reason),
    Email,
    Voice(Reason),
}

impl Route {
    /// The route of a phone channel (SMS or call).
    fn phone(channel: Channel, reason: Reason) -> Self {
        match channel {
            Channel::Voice => Self::Voice(reason),
            _ => Self::Sms(reason),
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Self::Push(_) => Channel::Push,
            Self::Sms(_) => Channel::Sms,
            Self::Email => Channel::Email,
            Self::Voice(_) => Channel::Voice,
        }
    }

    pub fn device_id(&self) -> Option<DeviceId> {
        match self {
            Self::Push(device) => Some(device.id),
            _ => None,
        }
    }

    pub fn reason(&self) -> Reason {
        match self {
            Self::Sms(reason) | Self::Voice(reason) => *reason,
            _ => Reason::Primary,
        }
    }

    /// The lane that hands it over to a recipient. An SMS or call to someone the push lane was
    /// meant to reach (`push_expected`) waits for that lane to end, in a fallback lane: after their
    /// pushes failed, or when their device went before it was tried. Everyone else's goes by the
    /// SMS or voice lane at once. So no two lanes ever plan the same SMS or call.
    pub fn lane(&self, push_expected: bool) -> Lane {
        match self {
            Self::Push(_) => Lane::Push,
            Self::Sms(Reason::PushFailed) => Lane::FallbackSms,
            Self::Sms(_) if push_expected => Lane::FallbackSms,
            Self::Sms(_) => Lane::Sms,
            Self::Email => Lane::Email,
            Self::Voice(Reason::PushFailed) => Lane::FallbackVoice,
            Self::Voice(_) if push_expected => Lane::FallbackVoice,
            Self::Voice(_) => Lane::Voice,
        }
    }
}

/// The deliveries of one message, by (participant, channel, device).
pub type Made = HashMap<(ParticipantId, Channel, Option<DeviceId>), (DeliveryState, i16)>;

/// The alert's routing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertRouting {
    pub urgent: bool,
    pub push: bool,
    pub sms: bool,
    pub email: bool,
    pub voice: bool,
    /// A call comes before an SMS (the alert's channels list `voice` before `sms`).
    pub voice_first: bool,
}

impl AlertRouting {
    /// From the alert's channels, in the alert's order (see [`ChannelOrder::arrange`]).
    pub fn new(urgent: bool, channels: &[Channel]) -> Self {
        let at = |channel| channels.iter().position(|c| *c == channel);
        Self {
            urgent,
            push: channels.contains(&Channel::Push),
            sms: channels.contains(&Channel::Sms),
            email: !urgent && channels.contains(&Channel::Email),
            voice: channels.contains(&Channel::Voice),
            voice_first: matches!((at(Channel::Voice), at(Channel::Sms)), (Some(voice), Some(sms)) if voice < sms),
        }
    }

    /// The phone channels the alert uses, in the order it tries them.
    pub fn phone_channels(self) -> impl Iterator<Item = Channel> {
        let order =
            if self.voice_first { [Channel::Voice, Channel::Sms] } else { [Channel::Sms, Channel::Voice] };
        order.into_iter().filter(move |channel| match channel {
            Channel::Sms => self.sms,
            _ => self.voice,
        })
    }

    /// The phone channel that reaches a recipient who can be reached on `reachable`: the first
    /// of the alert's the recipient chose.
    pub fn phone_channel(self, reachable: impl Fn(Channel) -> bool) -> Option<Channel> {
        self.phone_channels().find(|channel| reachable(*channel))
    }
}

fn state_of(
    made: &Made,
    participant: ParticipantId,
    channel: Channel,
    device: Option<DeviceId>,
) -> Option<DeliveryState> {
    made.get(&(participant, channel, device)).map(|(state, _)| *state)
}

/// Keeps the routes that still need a hand-over: never made, or being retried.
fn still_needed(made: &Made, participant: ParticipantId, routes: Vec<Route>) -> Vec<Route> {
    routes
        .into_iter()
        .filter(|route| {
            matches!(
                state_of(made, participant, route.channel(), route.device_id()),
                None | Some(DeliveryState::Retrying)
            )
        })
        .collect()
}

/// The deliveries of the alert itself that `recipient` still needs.
pub fn alert_routes(routing: AlertRouting, recipient: &Recipient, made: &Made) -> Vec<Route> {
    if !recipient.active {
        return Vec::new();
    }
    let id = recipient.participant_id;
    let wants = |channel| recipient.channels.contains(&channel);
    let mut routes = Vec::new();
    let gets_email = routing.email && wants(Channel::Email) && recipient.has_verified_email;
    let push_devices: &[DeviceTarget] =
        if routing.push && wants(Channel::Push) { &recipient.devices } else { &[] };
    routes.extend(push_devices.iter().cloned().map(Route::Push));
    let phone = routing.phone_channel(wants).filter(|_| recipient.has_phone);
    if let Some(phone) = phone {
        // Also covers devices removed meanwhile: their failed pushes still count.
        let push_states: Vec<DeliveryState> = made
            .iter()
            .filter(|((participant, channel, _), _)| *participant == id && *channel == Channel::Push)
            .map(|(_, (state, _))| *state)
            .collect();
        if push_devices.is_empty() && push_states.is_empty() {
            if !gets_email {
                routes.push(Route::phone(phone, Reason::NoPushDevice));
            }
        } else {
            let all_failed = push_devices.iter().all(|device| {
                state_of(made, id, Channel::Push, Some(device.id)) == Some(DeliveryState::Failed)
            }) && !push_states.is_empty()
                && push_states.iter().all(|state| *state == DeliveryState::Failed);
            if all_failed {
                routes.push(Route::phone(phone, Reason::PushFailed));
            }
        }
    }
    if gets_email {
        routes.push(Route::Email);
    }
    still_needed(made, id, routes)
}

/// Whether a new recipient is the push lane's, from what the selection knows of them (the
/// channels they can be reached on).
pub fn push_expected(routing: AlertRouting, reach_channels: &[Channel]) -> bool {
    routing.push && reach_channels.contains(&Channel::Push)
}

/// The lanes a new recipient of the alert may need, from what the selection knows of them: push
/// when both sides have it; their phone channel (SMS or call, see [`AlertRouting::phone_channel`])
/// when they get neither push nor e-mail; e-mail when both sides have it. The fallback lanes are
/// queued by the push lane when it ends. Which routes each lane hands over is [`alert_routes`]'s
/// to say; this only says which lanes a batch gets.
pub fn lanes_for_reach(routing: AlertRouting, reach_channels: &[Channel]) -> Vec<Lane> {
    let push = push_expected(routing, reach_channels);
    let email = routing.email && reach_channels.contains(&Channel::Email);
    let phone =
        routing.phone_channel(|channel| reach_channels.contains(&channel)).filter(|_| !push && !email);
    [
        (push, Lane::Push),
        (phone == Some(Channel::Sms), Lane::Sms),
        (email, Lane::Email),
        (phone == Some(Channel::Voice), Lane::Voice),
    ]
    .into_iter()
    .filter_map(|(needed, lane)| needed.then_some(lane))
    .collect()
}

/// The lanes a follow-up (an update, the closing message) takes for every batch: one per channel
/// the alert uses, as any of them may have reached someone in the batch.
pub fn follow_up_lanes(routing: AlertRouting) -> Vec<Lane> {
    [
        (routing.push, Lane::Push),
        (routing.sms, Lane::Sms),
        (routing.email, Lane::Email),
        (routing.voice, Lane::Voice),
    ]
    .into_iter()
    .filter_map(|(used, lane)| used.then_some(lane))
    .collect()
}

/// The deliveries of an update or the closing message that `recipient` still needs: by each
/// channel that carried the alert to them (`reached`), push to their current devices.
pub fn follow_up_routes(recipient: &Recipient, reached: &[Channel], made: &Made) -> Vec<Route> {
    if !recipient.active {
        return Vec::new();
    }
    let mut routes = Vec::new();
    if reached.contains(&Channel::Push) {
        routes.extend(recipient.devices.iter().cloned().map(Route::Push));
    }
    if reached.contains(&Channel::Sms) && recipient.has_phone {
        routes.push(Route::Sms(Reason::Primary));
    }
    if reached.contains(&Channel::Email) && recipient.has_verified_email {
        routes.push(Route::Email);
    }
    if reached.contains(&Channel::Voice) && recipient.has_phone {
        routes.push(Route::Voice(Reason::Primary));
    }
    still_needed(made, recipient.participant_id, routes)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::vocabulary::devices::Platform;

    fn device(n: u128) -> DeviceTarget {
        DeviceTarget {
            id: DeviceId(Uuid::from_u128(n)),
            platform: Platform::Android,
            token: format!("t{n}"),
            apns_environment: None,
        }
    }

    fn recipient(channels: &[Channel], devices: Vec<DeviceTarget>) -> Recipient {
        Recipient {
            participant_id: ParticipantId(Uuid::from_u128(1)),
            active: true,
            channels: channels.to_vec(),
            has_phone: true,
            has_verified_email: true,
            devices,
            push_expected: false,
        }
    }

    const ALL: [Channel; 3] = [Channel::Push, Channel::Sms, Channel::Email];
    const URGENT: AlertRouting =
        AlertRouting { urgent: true, push: true, sms: true, email: false, voice: false, voice_first: false };

    #[test]
    fn push_to_every_device_and_no_sms_while_push_works() {
        let r = recipient(&[Channel::Push, Channel::Sms], vec![device(1), device(2)]);
        assert_eq!(
            alert_routes(URGENT, &r, &Made::new()),
            vec![Route::Push(device(1)), Route::Push(device(2))]
        );
    }

    #[test]
    fn sms_when_there_is_no_device_or_push_is_not_chosen() {
        let r = recipient(&[Channel::Push, Channel::Sms], vec![]);
        assert_eq!(alert_routes(URGENT, &r, &Made::new()), vec![Route::Sms(Reason::NoPushDevice)]);
        let r = recipient(&[Channel::Sms], vec![device(1)]);
        assert_eq!(alert_routes(URGENT, &r, &Made::new()), vec![Route::Sms(Reason::NoPushDevice)]);
        let mut no_sms_alert = URGENT;
        no_sms_alert.sms = false;
        assert!(alert_routes(no_sms_alert, &r, &Made::new()).is_empty());
    }

    #[test]
    fn sms_when_every_push_failed_for_good() {
        let r = recipient(&[Channel::Push, Channel::Sms], vec![device(1), device(2)]);
        let id = r.participant_id;
        let mut made = Made::new();
        made.insert((id, Channel::Push, Some(device(1).id)), (DeliveryState::Failed, 1));
        made.insert((id, Channel::Push, Some(device(2).id)), (DeliveryState::Retrying, 1));
        // One push is still being retried: resend it, no SMS yet.
        assert_eq!(alert_routes(URGENT, &r, &made), vec![Route::Push(device(2))]);
        made.insert((id, Channel::Push, Some(device(2).id)), (DeliveryState::Failed, 3));
        assert_eq!(alert_routes(URGENT, &r, &made), vec![Route::Sms(Reason::PushFailed)]);
        made.insert((id, Channel::Sms, None), (DeliveryState::Sent, 1));
        assert!(alert_routes(URGENT, &r, &made).is_empty());
    }

    #[test]
    fn email_only_for_non_urgent_alerts_and_then_no_sms_without_a_device() {
        let non_urgent = AlertRouting::new(false, &ALL);
        let r = recipient(&ALL, vec![]);
        assert_eq!(alert_routes(non_urgent, &r, &Made::new()), vec![Route::Email]);
        let urgent = AlertRouting::new(true, &ALL);
        assert!(!urgent.email);
        assert_eq!(alert_routes(urgent, &r, &Made::new()), vec![Route::Sms(Reason::NoPushDevice)]);
        let unverified = Recipient { has_verified_email: false, ..r };
        assert_eq!(
            alert_routes(non_urgent, &unverified, &Made::new()),
            vec![Route::Sms(Reason::NoPushDevice)]
        );
    }

    #[test]
    fn inactive_recipients_get_nothing() {
        let r = Recipient { active: false, ..recipient(&ALL, vec![device(1)]) };
        assert!(alert_routes(URGENT, &r, &Made::new()).is_empty());
        assert!(follow_up_routes(&r, &[Channel::Push], &Made::new()).is_empty());
    }

    #[test]
    fn follow_ups_use_the_channels_that_reached_the_recipient() {
        let r = recipient(&ALL, vec![device(1)]);
        assert_eq!(follow_up_routes(&r, &[Channel::Push], &Made::new()), vec![Route::Push(device(1))]);
        assert_eq!(
            follow_up_routes(&r, &[Channel::Push, Channel::Sms], &Made::new()),
            vec![Route::Push(device(1)), Route::Sms(Reason::Primary)]
        );
        assert!(follow_up_routes(&r, &[], &Made::new()).is_empty());
    }

    #[test]
    fn a_removed_device_whose_push_failed_still_means_the_push_failed() {
        // The dead token removed the device: its failed push still counts, so this is the SMS
        // after a failed push, not one for want of a device.
        let r = recipient(&[Channel::Push, Channel::Sms], vec![]);
        let mut made = Made::new();
        made.insert((r.participant_id, Channel::Push, Some(device(1).id)), (DeliveryState::Failed, 1));
        assert_eq!(alert_routes(URGENT, &r, &made), vec![Route::Sms(Reason::PushFailed)]);
    }

    #[test]
    fn each_route_has_one_lane_and_sms_to_push_recipients_waits_for_their_push() {
        assert_eq!(Route::Push(device(1)).lane(true), Lane::Push);
        assert_eq!(Route::Email.lane(false), Lane::Email);
        assert_eq!(Route::Sms(Reason::NoPushDevice).lane(false), Lane::Sms);
        assert_eq!(Route::Sms(Reason::Primary).lane(false), Lane::Sms);
        assert_eq!(Route::Sms(Reason::PushFailed).lane(true), Lane::FallbackSms);
        // Their device went before the push lane tried it: still the fallback lane's.
        assert_eq!(Route::Sms(Reason::NoPushDevice).lane(true), Lane::FallbackSms);
    }

    #[test]
    fn a_batch_gets_the_lanes_its_recipients_can_be_reached_by() {
        let lanes = |routing, reach: &[Channel]| lanes_for_reach(routing, reach);
        assert_eq!(lanes(URGENT, &[Channel::Push, Channel::Sms]), [Lane::Push]);
        assert_eq!(lanes(URGENT, &[Channel::Sms]), [Lane::Sms]);
        assert!(lanes(URGENT, &[]).is_empty());
        let sms_only = AlertRouting { push: false, ..URGENT };
        assert_eq!(lanes(sms_only, &[Channel::Push, Channel::Sms]), [Lane::Sms]);
        assert!(!push_expected(sms_only, &[Channel::Push, Channel::Sms]));
        let quiet = AlertRouting::new(false, &ALL);
        assert_eq!(lanes(quiet, &[Channel::Sms, Channel::Email]), [Lane::Email]);
        assert_eq!(lanes(quiet, &ALL), [Lane::Push, Lane::Email]);
        assert_eq!(follow_up_lanes(quiet), [Lane::Push, Lane::Sms, Lane::Email]);
        assert_eq!(follow_up_lanes(URGENT), [Lane::Push, Lane::Sms]);
    }

    #[test]
    fn the_channel_order_of_a_category_is_spelled_out_and_decides_sms_or_call() {
        assert_eq!(ChannelOrder::parse("push, sms ,voice"), Ok(ChannelOrder::PushSmsVoice));
        assert_eq!(ChannelOrder::parse("push,voice,sms").map(ChannelOrder::as_str), Ok("push,voice,sms"));
        for wrong in ["sms,push", "push", "push,voice", "push,sms,voice,email", ""] {
            assert!(ChannelOrder::parse(wrong).is_err(), "{wrong}");
        }
        let chosen = [Channel::Email, Channel::Voice, Channel::Sms, Channel::Push];
        assert_eq!(
            ChannelOrder::PushVoiceSms.arrange(&chosen),
            [Channel::Push, Channel::Voice, Channel::Sms, Channel::Email]
        );
        let after_sms = ChannelOrder::PushSmsVoice.arrange(&chosen);
        assert_eq!(after_sms, [Channel::Push, Channel::Sms, Channel::Voice, Channel::Email]);
        assert!(!ChannelOrder::PushSms.calls() && ChannelOrders::default().any_calls());
        assert_eq!(ChannelOrders::default().of(Category::Inform), ChannelOrder::PushSms);

        // Push, then SMS, then a call: SMS for whoever chose it, a call for who chose only that.
        let sms_first = AlertRouting::new(true, &after_sms);
        let both =
            Recipient { has_verified_email: false, ..recipient(&[Channel::Sms, Channel::Voice], vec![]) };
        assert_eq!(alert_routes(sms_first, &both, &Made::new()), [Route::Sms(Reason::NoPushDevice)]);
        let caller = recipient(&[Channel::Voice], vec![]);
        assert_eq!(alert_routes(sms_first, &caller, &Made::new()), [Route::Voice(Reason::NoPushDevice)]);
        assert_eq!(lanes_for_reach(sms_first, &[Channel::Voice]), [Lane::Voice]);
        assert_eq!(lanes_for_reach(sms_first, &[Channel::Sms, Channel::Voice]), [Lane::Sms]);
        // A call first: who chose both is called.
        let voice_first = AlertRouting::new(true, &ChannelOrder::PushVoiceSms.arrange(&chosen));
        assert_eq!(alert_routes(voice_first, &both, &Made::new()), [Route::Voice(Reason::NoPushDevice)]);
        assert_eq!(lanes_for_reach(voice_first, &[Channel::Sms, Channel::Voice]), [Lane::Voice]);
        // An alert without calls never calls, even who chose only calls.
        let no_calls = AlertRouting::new(true, &[Channel::Push, Channel::Sms]);
        assert!(alert_routes(no_calls, &caller, &Made::new()).is_empty());
        assert!(lanes_for_reach(no_calls, &[Channel::Voice]).is_empty());
        // No number, no call.
        let numberless = Recipient { has_phone: false, ..caller.clone() };
        assert!(alert_routes(sms_first, &numberless, &Made::new()).is_empty());
    }

    #[test]
    fn a_call_follows_failed_pushes_in_its_own_fallback_lane_and_follow_ups_call_who_was_called() {
        let routing = AlertRouting::new(true, &[Channel::Push, Channel::Sms, Channel::Voice]);
        let r = recipient(&[Channel::Push, Channel::Voice], vec![device(1)]);
        assert_eq!(alert_routes(routing, &r, &Made::new()), [Route::Push(device(1))]);
        let mut made = Made::new();
        made.insert((r.participant_id, Channel::Push, Some(device(1).id)), (DeliveryState::Failed, 1));
        assert_eq!(alert_routes(routing, &r, &made), [Route::Voice(Reason::PushFailed)]);
        assert_eq!(Route::Voice(Reason::PushFailed).lane(true), Lane::FallbackVoice);
        assert_eq!(Route::Voice(Reason::NoPushDevice).lane(true), Lane::FallbackVoice);
        assert_eq!(Route::Voice(Reason::NoPushDevice).lane(false), Lane::Voice);
        // A call nobody answered is tried again (the status made it `retrying`); an answered one not.
        made.insert((r.participant_id, Channel::Voice, None), (DeliveryState::Retrying, 1));
        assert_eq!(alert_routes(routing, &r, &made), [Route::Voice(Reason::PushFailed)]);
        made.insert((r.participant_id, Channel::Voice, None), (DeliveryState::Delivered, 2));
        assert!(alert_routes(routing, &r, &made).is_empty());
        assert_eq!(follow_up_routes(&r, &[Channel::Voice], &Made::new()), [Route::Voice(Reason::Primary)]);
        assert_eq!(follow_up_lanes(routing), [Lane::Push, Lane::Sms, Lane::Voice]);
    }

    #[test]
    fn whatever_the_recipient_the_alert_routes_fall_in_the_lanes_their_batch_gets() {
        // The lanes a batch is given must cover every route `alert_routes` plans for its
        // recipients before any push was made (the fallback lane comes after the push lane).
        let reach_of = |r: &Recipient| -> Vec<Channel> {
            let mut reach = Vec::new();
            if r.channels.contains(&Channel::Push) && !r.devices.is_empty() {
                reach.push(Channel::Push);
            }
            if r.channels.contains(&Channel::Sms) && r.has_phone {
                reach.push(Channel::Sms);
            }
            if r.channels.contains(&Channel::Email) && r.has_verified_email {
                reach.push(Channel::Email);
            }
            if r.channels.contains(&Channel::Voice) && r.has_phone {
                reach.push(Channel::Voice);
            }
            reach
        };
        let choices: [&[Channel]; 8] = [
            &ALL,
            &[Channel::Push, Channel::Sms],
            &[Channel::Sms],
            &[Channel::Push],
            &[Channel::Email, Channel::Sms],
            &[Channel::Voice],
            &[Channel::Push, Channel::Voice],
            &[Channel::Sms, Channel::Voice, Channel::Email],
        ];
        let every = [Channel::Push, Channel::Sms, Channel::Voice, Channel::Email];
        let routings = [
            URGENT,
            AlertRouting::new(false, &ALL),
            AlertRouting::new(true, &[Channel::Sms]),
            AlertRouting::new(true, &ChannelOrder::PushSmsVoice.arrange(&every)),
            AlertRouting::new(false, &ChannelOrder::PushVoiceSms.arrange(&every)),
            AlertRouting::new(true, &[Channel::Voice]),
        ];
        for routing in routings {
            for channels in choices {
                for devices in [vec![], vec![device(1)]] {
                    for has_verified_email in [false, true] {
                        let mut r = Recipient { has_verified_email, ..recipient(channels, devices.clone()) };
                        let reach = reach_of(&r);
                        r.push_expected = push_expected(routing, &reach);
                        let lanes = lanes_for_reach(routing, &reach);
                        for route in alert_routes(routing, &r, &Made::new()) {
                            assert!(
                                lanes.contains(&route.lane(r.push_expected)),
                                "{route:?} for {r:?} under {routing:?}: lanes {lanes:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
