//! Reading a `multipart/form-data` upload: one file field and any small text fields beside
//! it (the picture upload's `alt` and `replaces`, the feed upload's file).

use super::ApiError;
use crate::state::AppState;
use axum::extract::Multipart;
use axum::http::StatusCode;
use std::collections::HashMap;

/// An uploaded form: the file (its name as the client gave it, and its bytes) and the other
/// fields as text.
pub struct Form {
    pub file: Option<(Option<String>, Vec<u8>)>,
    pub text: HashMap<String, String>,
}

/// Reads the form, taking `file_field` as the file. A file past the route's body limit is
/// `too_large()`; a malformed body is 400.
pub async fn read(
    state: &AppState,
    request: axum::extract::Request,
    file_field: &str,
    too_large: impl Fn() -> ApiError,
) -> Result<Form, ApiError> {
    let mut multipart =
        <Multipart as axum::extract::FromRequest<AppState>>::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("malformed form: {}", e.body_text())))?;
    let mut form = Form {
        file: None,
        text: HashMap::new(),
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("malformed form: {e}")))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == file_field {
            // The file name is the caller's to check, after the bytes are read, so that the
            // client hears the refusal instead of a connection cut mid-upload.
            let file_name = field.file_name().map(str::to_owned);
            let data = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::bad_request(format!("malformed form: {e}"))
                }
            })?;
            form.file = Some((file_name, data.to_vec()));
        } else if !name.is_empty() {
            form.text
                .insert(name, field.text().await.unwrap_or_default());
        }
    }
    Ok(form)
}
