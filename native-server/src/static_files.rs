//! Plain GETs: the inspector page and its files from the `www/` directory.

use std::path::{Path, PathBuf};

use framewire_core::handshake::{HttpResponse, Request};

use crate::http::{percent_decode, split_target};

/// Files larger than this are not served.
const MAX_FILE: u64 = 64 << 20;

/// Why a target does not name a servable file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Malformed target (bad escape, not starting with `/`).
    BadRequest(&'static str),
    /// Tries to leave the directory, or names a hidden file.
    Forbidden,
}

/// Maps a request target onto a path below `www`, refusing escapes.
pub(crate) fn resolve(www: &Path, target: &str) -> Result<PathBuf, Refusal> {
    let (path, _) = split_target(target);
    if !path.starts_with('/') {
        return Err(Refusal::BadRequest(
            "the request target must start with '/'",
        ));
    }
    let decoded =
        percent_decode(path).ok_or(Refusal::BadRequest("malformed %-escape in the path"))?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| Refusal::BadRequest("the path is not UTF-8"))?;
    if decoded.contains(['\\', '\0']) {
        return Err(Refusal::Forbidden);
    }
    let mut out = www.to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            s if s.starts_with('.') => return Err(Refusal::Forbidden),
            s => out.push(s),
        }
    }
    if decoded.ends_with('/') {
        out.push("index.html");
    }
    Ok(out)
}

/// The Content-Type for a file name.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The answer to a GET or HEAD (without upgrade) for a file of `www`.
pub(crate) async fn respond(req: &Request, www: &Path) -> HttpResponse {
    let head_only = match req.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        m => {
            return HttpResponse::text(405, &format!("method {m} is not allowed: use GET\n"))
                .header("Allow", "GET, HEAD")
        }
    };
    let path = match resolve(www, &req.path) {
        Ok(p) => p,
        Err(Refusal::BadRequest(why)) => return HttpResponse::text(400, &format!("{why}\n")),
        Err(Refusal::Forbidden) => return not_found(),
    };
    let path = match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_dir() => path.join("index.html"),
        Ok(_) => path,
        Err(_) => return not_found(),
    };
    let inside = match (
        tokio::fs::canonicalize(&path).await,
        tokio::fs::canonicalize(www).await,
    ) {
        (Ok(file), Ok(root)) => file.starts_with(root),
        _ => false,
    };
    if !inside {
        return not_found();
    }
    match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_file() && m.len() <= MAX_FILE => {}
        _ => return not_found(),
    }
    let body = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(_) => return not_found(),
    };
    let page = HttpResponse::new(200)
        .header("Content-Type", content_type(&path))
        .header("Content-Length", &body.len().to_string())
        .header("Cache-Control", "no-cache")
        .header("X-Content-Type-Options", "nosniff");
    if head_only {
        page
    } else {
        page.body(body)
    }
}

fn not_found() -> HttpResponse {
    HttpResponse::text(404, "not found\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_www() {
        let www = Path::new("/srv/www");
        assert_eq!(resolve(www, "/").unwrap(), Path::new("/srv/www/index.html"));
        assert_eq!(
            resolve(www, "/pkg/a.wasm?v=1").unwrap(),
            Path::new("/srv/www/pkg/a.wasm")
        );
        assert_eq!(
            resolve(www, "/a%20b.js").unwrap(),
            Path::new("/srv/www/a b.js")
        );
    }

    #[test]
    fn refuses_escapes() {
        let www = Path::new("/srv/www");
        for target in [
            "/../etc/passwd",
            "/pkg/../../x",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc",
            "/..%5cx",
            "/.git/config",
            "/a%00b",
        ] {
            assert!(resolve(www, target).is_err(), "{target}");
        }
        assert_eq!(
            resolve(www, "x"),
            Err(Refusal::BadRequest(
                "the request target must start with '/'"
            ))
        );
        assert!(matches!(resolve(www, "/%zz"), Err(Refusal::BadRequest(_))));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("a.mjs")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("a.JS")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.bin")), "application/octet-stream");
    }
}
