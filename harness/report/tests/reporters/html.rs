use socklab_report::render_html;

use crate::fixtures::*;

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The markup of a page: every `<...>` (text is escaped, so every `<` opens a tag).
fn tags(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .map(|rest| &rest[..rest.find('>').expect("tag closed")])
        .collect()
}

#[test]
fn hostile_strings_are_escaped() {
    let html = render_html(&hostile());
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "{html}");
    assert!(!lower.contains("<img"));
    assert!(!lower.contains("<b>"));
    assert!(!html.contains('\u{0}') && !html.contains('\u{1b}') && !html.contains('\u{7}'));
    assert!(html.contains("&lt;/pre&gt;&lt;script&gt;alert(&#39;sent&#39;)&lt;/script&gt;"));
    assert!(html.contains("\\x00\\x1b[2J"));
    assert!(
        html.contains("<title>socklab feedback: Doe, &quot;JJ&quot;\\n&lt;/pre&gt;"),
        "{html}"
    );
}

#[test]
fn page_is_self_contained_and_balanced() {
    for report in all() {
        let html = render_html(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("Content-Security-Policy"));
        for tag in tags(&html) {
            let tag = tag.to_lowercase();
            let name = tag
                .trim_start_matches('/')
                .split([' ', '\n'])
                .next()
                .unwrap();
            assert!(
                [
                    "!doctype", "html", "head", "meta", "title", "style", "body", "header", "h1",
                    "h2", "h3", "p", "ul", "li", "strong", "section", "table", "tr", "th", "td",
                    "a", "span", "pre", "details", "summary", "ol", "dl", "dt", "dd", "br",
                    "footer"
                ]
                .contains(&name),
                "unexpected tag <{tag}> for {}",
                report.submission
            );
            assert!(!tag.contains("src=") && !tag.contains(" on"), "<{tag}>");
            if let Some(href) = tag.split("href=\"").nth(1) {
                assert!(href.starts_with("#scenario-"), "external link <{tag}>");
            }
        }
        let style = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap()];
        assert!(!style.contains("url(") && !style.contains("@import"));
        for tag in ["pre", "section", "details", "table", "ol", "dl", "li", "p"] {
            assert_eq!(
                count(&html, &format!("<{tag}>")) + count(&html, &format!("<{tag} ")),
                count(&html, &format!("</{tag}>")),
                "<{tag}> unbalanced for {}",
                report.submission
            );
        }
    }
}

#[test]
fn shows_what_passed_and_failed() {
    let html = render_html(&troubled());
    assert!(html.contains("Score: 5.5 / 30"));
    assert!(html.contains("<span class=\"verdict v-fail\">FAIL</span>"));
    assert!(html.contains("<span class=\"verdict v-pass\">PASS</span>"));
    assert!(html.contains("✓ <strong>server accepts a connection</strong>"));
    assert!(
        html.contains("<dt>got</dt><dd><pre>\nYou lost  </pre></dd>"),
        "{html}"
    );
    assert!(html.contains("<dt>hint</dt><dd>print exactly the bytes read from the socket</dd>"));
    assert!(html.contains("scenarios/lab3/lottery.yaml:14"));
    assert!(html.contains("3 later checks not reached"));
    assert!(html.contains("<summary>Transcript: peer server</summary>"));
    assert!(html.contains("<h2>Build failed</h2>"));
    assert!(html.contains("expected &#39;;&#39; before &#39;return&#39;"));
    assert!(html.contains("<strong>Skipped:</strong> needs separate hosts"));
}
