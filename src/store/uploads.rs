//! Uploads as the store keeps them: the row a finished upload writes, what counts against a
//! user's quota, and what both backends decide alike (a send's attachments, read back onto the
//! messages that carry them).

use crate::domain::ids::UserId;
use crate::domain::message::Attachment;
use crate::domain::time::Timestamp;
use crate::domain::upload::{Upload, UploadId};
use crate::store::{Refusal, StoreError};

/// A finished upload to record.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub upload: Upload,
    pub uploader: UserId,
    pub at: Timestamp,
}

/// What a user uploaded inside the quota's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadUsage {
    pub bytes: i64,
    /// When the oldest upload inside the window was made (it leaves the window first).
    pub oldest: Option<Timestamp>,
}

/// The attachment a message shows of an upload.
pub fn attachment(upload: &Upload) -> Attachment {
    Attachment {
        id: upload.id.as_str().to_owned(),
        filename: upload.filename.clone(),
        content_type: upload.content_type.clone(),
        size: upload.size,
        width: upload.width,
        height: upload.height,
        thumbnail: upload.thumbnail,
    }
}

/// The refusal of attachments that are not all the sender's uploads that a message may carry.
pub fn invalid_attachment(id: &UploadId) -> StoreError {
    StoreError::Refused(
        Refusal::Invalid(crate::domain::code::INVALID_ATTACHMENT),
        format!(
            "attachment {:?} is not an upload of yours that a message may still carry",
            id.as_str()
        ),
    )
}
