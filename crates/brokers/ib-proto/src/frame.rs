//! Framing: every message after the hello is a 4-byte big-endian length and
//! that many bytes of payload (BROKERS.md §2.2).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest payload either end accepts; real messages are a few kB.
pub const MAX_PAYLOAD: usize = 16 * 1024 * 1024;
/// The first bytes a client sends.
pub const API_PREFIX: &[u8; 4] = b"API\0";

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("not a TWS API hello: {0}")]
    BadHello(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One length-prefixed frame's bytes.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&frame(payload)).await
}

/// Read one frame's payload. `Closed` on a clean end of stream before a frame.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_PAYLOAD {
        return Err(FrameError::TooLarge(len));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FrameError::Closed
        } else {
            e.into()
        }
    })?;
    Ok(payload)
}

/// The client's hello: `API\0`, then a frame holding `v<min>..<max>` and
/// optional connect options after a space.
pub fn client_hello(min: i32, max: i32, options: &str) -> Vec<u8> {
    let mut range = format!("v{min}..{max}");
    if !options.is_empty() {
        range.push(' ');
        range.push_str(options);
    }
    let mut out = API_PREFIX.to_vec();
    out.extend_from_slice(&frame(range.as_bytes()));
    out
}

/// The server reads the client's hello: the advertised version range.
pub async fn read_client_hello<R: AsyncRead + Unpin>(r: &mut R) -> Result<(i32, i32), FrameError> {
    let mut prefix = [0u8; 4];
    match r.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    if &prefix != API_PREFIX {
        return Err(FrameError::BadHello(format!("prefix {prefix:02x?}")));
    }
    let payload = read_frame(r).await?;
    parse_range(&String::from_utf8_lossy(&payload))
}

fn parse_range(text: &str) -> Result<(i32, i32), FrameError> {
    let bad = || FrameError::BadHello(format!("version range {text:?}"));
    let range = text.split_whitespace().next().ok_or_else(bad)?;
    let range = range.strip_prefix('v').ok_or_else(bad)?;
    let (min, max) = match range.split_once("..") {
        Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
        None => {
            let v = range.parse().map_err(|_| bad())?;
            (v, v)
        }
    };
    if min > max {
        return Err(bad());
    }
    Ok((min, max))
}

/// The server's answer to the hello: `<version>\0<connection time>\0`.
pub fn server_hello(server_version: i32, connection_time: &str) -> Vec<u8> {
    frame(format!("{server_version}\0{connection_time}\0").as_bytes())
}

/// The client reads the server's answer: version and connection time.
pub async fn read_server_hello<R: AsyncRead + Unpin>(
    r: &mut R,
) -> Result<(i32, String), FrameError> {
    let payload = read_frame(r).await?;
    let text = String::from_utf8_lossy(&payload);
    let mut fields = text.split('\0');
    let version = fields
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| FrameError::BadHello(format!("server answer {text:?}")))?;
    Ok((version, fields.next().unwrap_or_default().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_of_ibapi_5_5() {
        // BROKERS.md §1.3: `API\0` + 00 00 00 09 + "v213..226".
        let mut want = b"API\0\x00\x00\x00\x09".to_vec();
        want.extend_from_slice(b"v213..226");
        assert_eq!(client_hello(213, 226, ""), want);
    }

    #[tokio::test]
    async fn hellos_round_trip() {
        let bytes = client_hello(157, 178, "+PACEAPI");
        assert_eq!(
            read_client_hello(&mut bytes.as_slice()).await.unwrap(),
            (157, 178)
        );
        let bytes = server_hello(178, "20261201 15:00:00 UTC");
        let (v, t) = read_server_hello(&mut bytes.as_slice()).await.unwrap();
        assert_eq!((v, t.as_str()), (178, "20261201 15:00:00 UTC"));
        assert!(
            read_client_hello(&mut &b"GET / HTTP/1.1\r\n"[..])
                .await
                .is_err()
        );
    }
}
