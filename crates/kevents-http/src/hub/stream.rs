//! A response read as it arrives: the lines of a watch.

use super::HubError;
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// A streaming response body (a watch), read line by line.
pub struct WatchStream {
    body: Incoming,
    buffer: Vec<u8>,
}

impl WatchStream {
    pub(super) fn new(body: Incoming) -> WatchStream {
        WatchStream {
            body,
            buffer: Vec::new(),
        }
    }

    /// The next line of the body, without its newline; `None` when the stream ended.
    pub async fn next_line(&mut self) -> Result<Option<Vec<u8>>, HubError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                line.pop();
                return Ok(Some(line));
            }
            match self.body.frame().await {
                None if self.buffer.is_empty() => return Ok(None),
                None => return Ok(Some(std::mem::take(&mut self.buffer))),
                Some(Err(e)) => return Err(HubError::Protocol(format!("watch stream: {e}"))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}
