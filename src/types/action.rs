//! The registry API actions a request is metered as. ECR meters its `/v2`
//! data plane per action (manifest PUT → `PutImage`, upload POST →
//! `InitiateLayerUpload`, …), each with its own quota; the throttle keeps one
//! pacing state per (host, action). Imports nothing from the crate.

use reqwest::Method;

/// What a registry request is, for pacing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Manifest PUT.
    PutImage,
    /// Upload POST (opening a session, or a mount).
    InitiateLayerUpload,
    /// Upload PATCH.
    UploadLayerPart,
    /// Upload PUT (closing a session with `?digest=`).
    CompleteLayerUpload,
    /// Blob HEAD.
    BatchCheckLayerAvailability,
    /// Manifest GET or HEAD.
    BatchGetImage,
    /// Blob GET.
    GetDownloadUrlForLayer,
    /// Anything else (ping, tag and catalog listing, deletes).
    Other,
}

impl Action {
    /// Every metered action's name, as ECR's quotas spell them.
    pub const NAMES: [&'static str; 7] = [
        "PutImage",
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "BatchCheckLayerAvailability",
        "BatchGetImage",
        "GetDownloadUrlForLayer",
    ];

    /// The action's name.
    pub fn name(self) -> &'static str {
        match self {
            Action::PutImage => "PutImage",
            Action::InitiateLayerUpload => "InitiateLayerUpload",
            Action::UploadLayerPart => "UploadLayerPart",
            Action::CompleteLayerUpload => "CompleteLayerUpload",
            Action::BatchCheckLayerAvailability => "BatchCheckLayerAvailability",
            Action::BatchGetImage => "BatchGetImage",
            Action::GetDownloadUrlForLayer => "GetDownloadUrlForLayer",
            Action::Other => "Other",
        }
    }

    /// Parses an action name (`PutImage`, case-insensitive).
    pub fn parse(s: &str) -> Option<Action> {
        [
            Action::PutImage,
            Action::InitiateLayerUpload,
            Action::UploadLayerPart,
            Action::CompleteLayerUpload,
            Action::BatchCheckLayerAvailability,
            Action::BatchGetImage,
            Action::GetDownloadUrlForLayer,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Classifies a `/v2` request by method and path.
    pub fn classify(method: &Method, path: &str) -> Action {
        let uploads = path.contains("/blobs/uploads/");
        let manifests = path.contains("/manifests/");
        let blobs = !uploads && path.contains("/blobs/");
        match *method {
            Method::PUT if manifests => Action::PutImage,
            Method::GET | Method::HEAD if manifests => Action::BatchGetImage,
            Method::POST if uploads => Action::InitiateLayerUpload,
            Method::PATCH if uploads => Action::UploadLayerPart,
            Method::PUT if uploads => Action::CompleteLayerUpload,
            Method::HEAD if blobs => Action::BatchCheckLayerAvailability,
            Method::GET if blobs => Action::GetDownloadUrlForLayer,
            _ => Action::Other,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_data_plane() {
        let c = |m: Method, p: &str| Action::classify(&m, p);
        assert_eq!(c(Method::PUT, "/v2/a/b/manifests/1.0"), Action::PutImage);
        assert_eq!(
            c(Method::HEAD, "/v2/a/manifests/sha256:x"),
            Action::BatchGetImage
        );
        assert_eq!(
            c(Method::POST, "/v2/a/blobs/uploads/"),
            Action::InitiateLayerUpload
        );
        assert_eq!(
            c(Method::PATCH, "/v2/a/blobs/uploads/u"),
            Action::UploadLayerPart
        );
        assert_eq!(
            c(Method::PUT, "/v2/a/blobs/uploads/u"),
            Action::CompleteLayerUpload
        );
        assert_eq!(
            c(Method::HEAD, "/v2/a/blobs/sha256:x"),
            Action::BatchCheckLayerAvailability
        );
        assert_eq!(
            c(Method::GET, "/v2/a/blobs/sha256:x"),
            Action::GetDownloadUrlForLayer
        );
        assert_eq!(c(Method::GET, "/v2/a/tags/list"), Action::Other);
        assert_eq!(Action::parse("putimage"), Some(Action::PutImage));
        assert_eq!(Action::parse("Other"), None);
    }
}
