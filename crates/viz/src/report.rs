//! The report index: one HTML page listing entries — a title, a narration, a picture and links —
//! for files that sit beside it. Self-contained like the explorer: inline CSS and script, relative
//! links only, no network request at view time.
//!
//! Its self-test hook (`#selftest`) checks that every picture loaded and writes a JSON verdict into
//! `<pre id="selftest-result">`.

use crate::text::escape;

/// One entry of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Heading.
    pub title: String,
    /// What the picture shows, in a sentence or three.
    pub narration: String,
    /// A picture beside the index (relative path), shown inline.
    pub image: Option<String>,
    /// Further files beside the index: (label, relative path).
    pub links: Vec<(String, String)>,
}

/// Why an index cannot be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexError {
    /// A link or picture is not a plain relative path (a URL, an absolute path, or `..`).
    #[error("entry `{entry}`: `{path}` is not a relative path beside the report")]
    NotRelative {
        /// The entry's title.
        entry: String,
        /// The offending path.
        path: String,
    },
}

fn relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(':')
        && !path.starts_with('/')
        && !path.starts_with('\\')
        && !path.split(['/', '\\']).any(|p| p == "..")
}

const STYLE: &str = "body{margin:0 auto;max-width:1100px;padding:16px;font:14px/1.5 system-ui,sans-serif;color:#222}\
h1{font-size:22px}section{border-top:1px solid #ddd;padding:10px 0}h2{font-size:16px;margin:4px 0}\
.pic{display:block;max-width:100%;max-height:420px;border:1px solid #eee;margin:6px 0}\
.links a{margin-right:14px}";

const SCRIPT: &str = r##"(function(){
if (location.hash !== "#selftest") return;
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.querySelectorAll("img.pic"));
  var r = { ok: true, entries: document.querySelectorAll("section").length, images: imgs.length, loaded: 0, broken: [] };
  imgs.forEach(function (i) { if (i.complete && i.naturalWidth > 0) r.loaded++; else r.broken.push(i.getAttribute("src")); });
  r.ok = r.loaded === r.images && r.entries > 0;
  var out = document.getElementById("selftest-result");
  out.textContent = JSON.stringify(r); out.hidden = false;
});
})();"##;

/// The index page.
pub fn index(title: &str, intro: &str, entries: &[IndexEntry]) -> Result<String, IndexError> {
    let mut s = String::new();
    s.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    s.push_str(&escape(title));
    s.push_str("</title>\n<style>");
    s.push_str(STYLE);
    s.push_str("</style>\n</head>\n<body>\n<h1>");
    s.push_str(&escape(title));
    s.push_str("</h1>\n<p>");
    s.push_str(&escape(intro));
    s.push_str("</p>\n");
    for e in entries {
        for path in e.image.iter().chain(e.links.iter().map(|(_, p)| p)) {
            if !relative(path) {
                return Err(IndexError::NotRelative { entry: e.title.clone(), path: path.clone() });
            }
        }
        s.push_str("<section>\n<h2>");
        s.push_str(&escape(&e.title));
        s.push_str("</h2>\n<p>");
        s.push_str(&escape(&e.narration));
        s.push_str("</p>\n");
        if let Some(img) = &e.image {
            s.push_str(&format!(
                "<a href=\"{0}\"><img class=\"pic\" src=\"{0}\" alt=\"{1}\"></a>\n",
                escape(img),
                escape(&e.title)
            ));
        }
        if !e.links.is_empty() {
            s.push_str("<p class=\"links\">");
            for (label, path) in &e.links {
                s.push_str(&format!("<a href=\"{}\">{}</a>", escape(path), escape(label)));
            }
            s.push_str("</p>\n");
        }
        s.push_str("</section>\n");
    }
    s.push_str("<pre id=\"selftest-result\" hidden></pre>\n<script>");
    s.push_str(SCRIPT);
    s.push_str("</script>\n</body>\n</html>\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(image: &str) -> IndexEntry {
        IndexEntry {
            title: "A <b>".into(),
            narration: "n".into(),
            image: Some(image.into()),
            links: vec![("explore".into(), "a.html".into())],
        }
    }

    #[test]
    fn entries_are_escaped_and_links_must_be_relative() {
        let page = index("t", "i", &[entry("a.svg")]).unwrap();
        assert!(page.contains("<h2>A &lt;b&gt;</h2>") && page.contains("src=\"a.svg\""));
        for bad in ["ftp://example.org/x.svg", "javascript:alert(1)", "/etc/x.svg", "../x.svg", "C:\\x.svg", ""] {
            assert!(index("t", "i", &[entry(bad)]).is_err(), "{bad}");
        }
    }
}
