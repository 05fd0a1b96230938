//! Conversions between the handshake's types and the `http` crate's, for hosts
//! that live among `http` types (hyper, axum). Feature `http`.

use super::client::{parse_response, Response};
use super::outcome::{HandshakeInfo, Upgraded};
use super::response::HttpResponse;
use super::server::Request;
use super::server_machine::Declined;
use super::Headers;

/// Why a value could not become an `http` type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpConversionError {
    /// A header name that `http` refuses.
    #[error("invalid header name {0:?}")]
    HeaderName(String),
    /// A header value that `http` refuses.
    #[error("invalid value for header {0}")]
    HeaderValue(String),
    /// A method that `http` refuses.
    #[error("invalid method {0:?}")]
    Method(String),
    /// A request target that is not a URI.
    #[error("invalid request target {0:?}")]
    Target(String),
    /// A status outside 100-999.
    #[error("invalid status {0}")]
    Status(u16),
    /// The machine's answer could not be read back (a bug).
    #[error("the handshake answer is not a valid response head")]
    Answer,
}

impl TryFrom<&Headers> for http::HeaderMap {
    type Error = HttpConversionError;

    fn try_from(headers: &Headers) -> Result<Self, Self::Error> {
        let mut map = http::HeaderMap::with_capacity(headers.len());
        for (name, value) in headers.iter() {
            let n = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpConversionError::HeaderName(name.to_owned()))?;
            let v = http::HeaderValue::from_str(value)
                .map_err(|_| HttpConversionError::HeaderValue(name.to_owned()))?;
            map.append(n, v);
        }
        Ok(map)
    }
}

impl From<&http::HeaderMap> for Headers {
    /// Values that are not UTF-8 are kept with U+FFFD in place of the bad bytes.
    fn from(map: &http::HeaderMap) -> Self {
        let mut headers = Headers::with_capacity(map.len(), 0);
        for (name, value) in map {
            headers.push(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
        }
        headers
    }
}

impl Request {
    /// The request as an `http::Request<()>`: method, URI (path and query) and headers.
    pub fn to_http(&self) -> Result<http::Request<()>, HttpConversionError> {
        let method = http::Method::from_bytes(self.method.as_bytes())
            .map_err(|_| HttpConversionError::Method(self.method.clone()))?;
        let uri: http::Uri = self
            .path
            .parse()
            .map_err(|_| HttpConversionError::Target(self.path.clone()))?;
        let mut request = http::Request::new(());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = match self.http_minor {
            0 => http::Version::HTTP_10,
            _ => http::Version::HTTP_11,
        };
        *request.headers_mut() = http::HeaderMap::try_from(&self.headers)?;
        Ok(request)
    }

    /// A request that something else parsed (hyper, say), to hand to
    /// [`super::PendingRequest::from_request`].
    pub fn from_http_parts(parts: &http::request::Parts) -> Self {
        Self::from_http_head(&parts.method, &parts.uri, parts.version, &parts.headers)
    }

    /// Like [`Self::from_http_parts`], from a whole request (its body untouched),
    /// for hosts that hold an `http::Request<B>` (a hyper or axum handler).
    pub fn from_http<B>(request: &http::Request<B>) -> Self {
        Self::from_http_head(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
        )
    }

    fn from_http_head(
        method: &http::Method,
        uri: &http::Uri,
        version: http::Version,
        headers: &http::HeaderMap,
    ) -> Self {
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        Self {
            method: method.as_str().to_owned(),
            path,
            http_minor: u8::from(version != http::Version::HTTP_10),
            headers: Headers::from(headers),
        }
    }
}

impl TryFrom<&HttpResponse> for http::Response<Vec<u8>> {
    type Error = HttpConversionError;

    fn try_from(r: &HttpResponse) -> Result<Self, Self::Error> {
        let status = http::StatusCode::from_u16(r.status)
            .map_err(|_| HttpConversionError::Status(r.status))?;
        let headers: Headers = r.headers.iter().map(|(n, v)| (n, v)).collect();
        let mut response = http::Response::new(r.body.clone());
        *response.status_mut() = status;
        *response.headers_mut() = http::HeaderMap::try_from(&headers)?;
        Ok(response)
    }
}

impl From<http::Response<Vec<u8>>> for HttpResponse {
    fn from(r: http::Response<Vec<u8>>) -> Self {
        let (parts, body) = r.into_parts();
        Self {
            status: parts.status.as_u16(),
            headers: Headers::from(&parts.headers).to_vec(),
            body,
        }
    }
}

impl Upgraded {
    /// The 101 answer as an `http::Response<()>`, for hosts (hyper) that write
    /// responses themselves.
    pub fn to_http_response(&self) -> Result<http::Response<()>, HttpConversionError> {
        let Ok(Some((
            Response {
                status, headers, ..
            },
            _,
        ))) = parse_response(&self.response, self.response.len())
        else {
            return Err(HttpConversionError::Answer);
        };
        let mut response = http::Response::new(());
        *response.status_mut() =
            http::StatusCode::from_u16(status).map_err(|_| HttpConversionError::Status(status))?;
        *response.headers_mut() = http::HeaderMap::try_from(&headers)?;
        Ok(response)
    }
}

impl Declined {
    /// The refusal as an `http::Response` (status, headers and the body that
    /// says why), read back from [`Self::response`], for hosts (hyper) that
    /// write responses themselves.
    pub fn to_http_response(&self) -> Result<http::Response<Vec<u8>>, HttpConversionError> {
        let Ok(Some((
            Response {
                status, headers, ..
            },
            head_len,
        ))) = parse_response(&self.response, self.response.len())
        else {
            return Err(HttpConversionError::Answer);
        };
        let mut response = http::Response::new(self.response[head_len..].to_vec());
        *response.status_mut() =
            http::StatusCode::from_u16(status).map_err(|_| HttpConversionError::Status(status))?;
        *response.headers_mut() = http::HeaderMap::try_from(&headers)?;
        Ok(response)
    }
}

impl HandshakeInfo {
    /// The peer's headers ([`Self::headers`]) as an `http::HeaderMap`.
    pub fn header_map(&self) -> Result<http::HeaderMap, HttpConversionError> {
        http::HeaderMap::try_from(&self.headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{parse_request, Acceptance, PendingRequest, ServerHandshakeConfig};
    use crate::Config;

    const REQUEST: &[u8] = b"GET /chat?token=abc HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Two: 1\r\nX-Two: 2\r\n\r\n";

    #[test]
    fn a_request_becomes_an_http_request_and_back() {
        let (request, _) = parse_request(REQUEST, 1 << 14).unwrap().unwrap();
        let http = request.to_http().unwrap();
        assert_eq!(http.method(), http::Method::GET);
        assert_eq!(http.uri().path(), "/chat");
        assert_eq!(http.uri().query(), Some("token=abc"));
        assert_eq!(http.headers().get_all("x-two").iter().count(), 2);
        let (parts, ()) = http.into_parts();
        let back = Request::from_http_parts(&parts);
        assert_eq!(back.path, "/chat?token=abc");
        assert_eq!(
            back.headers.get_all("X-Two").collect::<Vec<_>>(),
            ["1", "2"]
        );
    }

    #[test]
    fn a_request_parsed_by_hyper_is_accepted_and_answered_as_http() {
        let (request, _) = parse_request(REQUEST, 1 << 14).unwrap().unwrap();
        let (parts, ()) = request.to_http().unwrap().into_parts();
        let pending = PendingRequest::from_request(
            Config::default(),
            ServerHandshakeConfig::default(),
            Request::from_http_parts(&parts),
        );
        let upgraded = pending.accept(Acceptance::default()).unwrap();
        let response = upgraded.to_http_response().unwrap();
        assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            response.headers()["sec-websocket-accept"],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn responses_convert_both_ways_and_bad_headers_are_named() {
        let ours = HttpResponse::text(403, "no\n").header("X-Why", "origin");
        let theirs = http::Response::<Vec<u8>>::try_from(&ours).unwrap();
        assert_eq!(theirs.status(), 403);
        assert_eq!(theirs.headers()["x-why"], "origin");
        let back = HttpResponse::from(theirs);
        assert_eq!(back.status, 403);
        assert_eq!(back.body, b"no\n");
        let bad = HttpResponse::new(400).header("X A", "1");
        assert_eq!(
            http::Response::<Vec<u8>>::try_from(&bad).unwrap_err(),
            HttpConversionError::HeaderName("X A".into())
        );
    }

    #[test]
    fn a_refusal_and_the_peer_headers_convert_to_http() {
        let (request, _) = parse_request(REQUEST, 1 << 14).unwrap().unwrap();
        let http = request.to_http().unwrap();
        let back = Request::from_http(&http);
        assert_eq!(back.path, request.path);
        assert_eq!(
            back.headers.get("sec-websocket-key"),
            request.header("Sec-WebSocket-Key")
        );
        let pending =
            PendingRequest::from_request(Config::default(), ServerHandshakeConfig::default(), back);
        let declined = pending.decline(HttpResponse::text(403, "go away\n").header("X-Why", "t"));
        let response = declined.to_http_response().unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(response.headers()["x-why"], "t");
        assert_eq!(response.body(), b"go away\n");

        let (request, _) = parse_request(REQUEST, 1 << 14).unwrap().unwrap();
        let pending = PendingRequest::from_request(
            Config::default(),
            ServerHandshakeConfig::default(),
            request,
        );
        let info = pending.accept(Acceptance::default()).unwrap().info;
        let map = info.header_map().unwrap();
        assert_eq!(map.get_all("x-two").iter().count(), 2);
        assert_eq!(map["host"], "a");
    }
}
