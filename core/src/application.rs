//! What the application is made of, across its domains: the top layer of `core`, beside the
//! settings of each process (`config`).

use crate::alerts::delivery::{
    DeliverEmail, DeliverFallbackSms, DeliverFallbackVoice, DeliverPush, DeliverSms, DeliverVoice,
    FanOutWave, RecruitEntrants, SmsFallbackCheck,
};
use crate::jobs::BackgroundJob;
use crate::media::processing::ProcessMedia;
use crate::media::retention::RemoveMediaObjects;
use crate::media::uploads::AbortUnclaimedUpload;
use crate::messages::sending::SendMunicipalMessage;
use crate::participants::notices::NotifyParticipant;

/// The job types of the application: the queue metrics report every one (with 0 when idle), and
/// the workers' runner (`burgernet_workers::application_runner`) registers exactly these.
pub const JOB_TYPES: [&str; 14] = [
    NotifyParticipant::JOB_TYPE,
    FanOutWave::JOB_TYPE,
    RecruitEntrants::JOB_TYPE,
    DeliverPush::JOB_TYPE,
    DeliverSms::JOB_TYPE,
    DeliverEmail::JOB_TYPE,
    DeliverFallbackSms::JOB_TYPE,
    DeliverVoice::JOB_TYPE,
    DeliverFallbackVoice::JOB_TYPE,
    SmsFallbackCheck::JOB_TYPE,
    ProcessMedia::JOB_TYPE,
    RemoveMediaObjects::JOB_TYPE,
    AbortUnclaimedUpload::JOB_TYPE,
    SendMunicipalMessage::JOB_TYPE,
];
