//! The closed sets of photos and videos attached to tips, as stored with them.

use super::text_enum;

text_enum!(
    MediaKind {
        Photo => "photo",
        Video => "video",
    }
);

text_enum!(
    /// Where an attached photo or video stands.
    MediaState {
        /// Declared; the app has yet to upload it and report completion.
        PendingUpload => "pending_upload",
        /// The app reported the upload complete; waiting for the worker.
        Uploaded => "uploaded",
        /// The worker is checking it and making previews.
        Processing => "processing",
        /// Verified and kept as evidence.
        Ready => "ready",
        /// Refused (see the reason); nothing of it is kept.
        Rejected => "rejected",
        /// Never completed; removed.
        Expired => "expired",
    }
);
