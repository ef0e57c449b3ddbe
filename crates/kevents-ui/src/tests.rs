use super::*;
use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn answer(method: Method, path: &str) -> Response {
    answer_with(method, path, None).await
}

async fn answer_with(method: Method, path: &str, etag: Option<&HeaderValue>) -> Response {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    router::<()>()
        .oneshot(request.body(Body::empty()).expect("a valid request"))
        .await
        .expect("the router answers")
}

#[tokio::test]
async fn every_ui_answer_carries_the_content_security_policy() {
    for (method, path) in [
        (Method::GET, "/ui"),
        (Method::GET, "/ui/"),
        (Method::GET, "/ui/js/app.js"),
        (Method::GET, "/ui/missing.js"),
        (Method::POST, "/ui/"),
    ] {
        let response = answer(method.clone(), path).await;
        let csp = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap_or_else(|| panic!("{method} {path}: no CSP"));
        assert_eq!(csp, CONTENT_SECURITY_POLICY, "{method} {path}");
        assert_eq!(
            response.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
    }
}

#[tokio::test]
async fn the_page_and_its_modules_are_served_with_their_types() {
    let page = answer(Method::GET, "/ui/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[header::CONTENT_TYPE], HTML);
    let body = page.into_body().collect().await.expect("body").to_bytes();
    let text = std::str::from_utf8(&body).expect("utf-8");
    let v = version();
    assert!(text.contains(&format!(r#"<script type="module" src="{v}/js/app.js">"#)));
    let script = answer(Method::GET, "/ui/js/events.js").await;
    assert_eq!(script.headers()[header::CONTENT_TYPE], JS);
    assert_eq!(answer(Method::GET, "/ui/../Cargo.toml").await.status(), 404);
}

#[test]
fn the_page_has_no_inline_script_or_style_and_no_outside_address() {
    for asset in ASSETS {
        let text = std::str::from_utf8(asset.body).expect("assets are text");
        // The SVG namespace is a name, not an address anything is fetched from.
        let text = text.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{} names an outside address",
            asset.path
        );
        if asset.content_type == HTML {
            assert!(
                !text.contains("<script>") && !text.contains("style="),
                "{}",
                asset.path
            );
        }
        if asset.content_type == JS {
            assert!(
                !text.contains("innerHTML") && !text.contains("eval("),
                "{}",
                asset.path
            );
        }
    }
}

#[test]
fn the_ui_adds_less_than_a_mebibyte() {
    assert!(asset_bytes() < 1 << 20, "{} bytes", asset_bytes());
}

#[tokio::test]
async fn the_page_preloads_every_module_under_this_builds_version() {
    let page = answer(Method::GET, "/ui/").await;
    let body = page.into_body().collect().await.expect("body").to_bytes();
    let text = std::str::from_utf8(&body).expect("utf-8");
    assert!(!text.contains(VERSION_MARK));
    for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
        let link = format!(
            r#"<link rel="modulepreload" href="{}/{}">"#,
            version(),
            asset.path
        );
        assert!(text.contains(&link), "{} is not preloaded", asset.path);
    }
}

#[tokio::test]
async fn versioned_files_are_immutable_and_the_page_is_revalidated() {
    let path = format!("/ui/{}/js/app.js", version());
    let script = answer(Method::GET, &path).await;
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(script.headers()[header::CONTENT_TYPE], JS);
    let cache = script.headers()[header::CACHE_CONTROL]
        .to_str()
        .expect("ascii");
    assert!(cache.contains("immutable"), "{cache}");
    for path in ["/ui/", "/ui/js/app.js", "/ui/v-0000000000000000/js/app.js"] {
        let response = answer(Method::GET, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "no-cache",
            "{path}"
        );
        let etag = response.headers()[header::ETAG].clone();
        let again = answer_with(Method::GET, path, Some(&etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(again
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY));
    }
    let stale = HeaderValue::from_static("\"v-0000000000000000\"");
    let page = answer_with(Method::GET, "/ui/", Some(&stale)).await;
    assert_eq!(page.status(), StatusCode::OK);
}
