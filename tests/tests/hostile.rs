//! Hostile servers: each fault mode of the reference server ends in a typed,
//! actionable error or an honest measurement, within the timeout, without a panic.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::sync::Arc;
use std::time::{Duration, Instant};

use ispeed_core::measure::Phase;
use ispeed_core::{
    Error, MeasureRequest, MeasurementResult, StaticPlatform, SystemClock, Transport, measure,
};
use ispeed_e2e::{Recorder, loopback_any_port, measure_on_loopback, quick_request};
use ispeed_server::faults::Fault;
use ispeed_server::{LinkProfile, ServerConfig};
use tokio_util::sync::CancellationToken;

async fn against(
    fault: Fault,
    tune: impl FnOnce(&mut MeasureRequest),
) -> (Result<MeasurementResult, Error>, Duration) {
    let mut config = ServerConfig::new(LinkProfile {
        down_mbps: Some(20.0),
        up_mbps: Some(10.0),
        rtt_ms: 10,
    });
    config.fault = Some(fault);
    let server = ispeed_server::spawn(loopback_any_port(), config)
        .await
        .expect("server starts");
    let mut req = quick_request(server.url());
    tune(&mut req);
    let start = Instant::now();
    let r = measure_on_loopback(&req).await;
    let took = start.elapsed();
    server.stop().await;
    (r, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_after_n_bytes() {
    let (r, took) = against(Fault::StallAfter(100_000), |_| {}).await;
    assert!(
        matches!(
            r,
            Err(Error::Stalled {
                phase: Phase::Download,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_after_n_bytes() {
    let (r, took) = against(Fault::ResetAfter(100_000), |_| {}).await;
    assert!(
        matches!(
            r,
            Err(Error::ConnectionLost {
                phase: Phase::Download,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_drip_is_measured_honestly() {
    // 4 streams × 20 kB/s = 0.64 Mbit/s: slow, but a correct figure, not an error.
    let (r, took) = against(Fault::Drip(20_000), |_| {}).await;
    let r = r.expect("a dripping server is slow, not broken");
    let d = r.download.expect("download measured");
    assert!((d.mbps / 0.64 - 1.0).abs() < 0.15, "{} Mbit/s", d.mbps);
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_length() {
    // Small budget, so each stream reaches the body's premature end.
    let (r, _) = against(Fault::WrongLength, |req| {
        req.config.download.max_bytes = 1_000_000;
    })
    .await;
    assert!(
        matches!(
            r,
            Err(Error::ConnectionLost {
                phase: Phase::Download,
                ..
            })
        ),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_body_is_never_counted() {
    let (r, _) = against(Fault::Gzip, |_| {}).await;
    match r {
        Err(Error::Protocol {
            phase: Phase::Download,
            detail,
        }) => {
            assert!(detail.contains("gzip"), "{detail}")
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[tokio::test]
async fn http_500() {
    let (r, _) = against(Fault::Status(500), |_| {}).await;
    assert!(
        matches!(r, Err(Error::HttpStatus { status: 500, .. })),
        "{r:?}"
    );
}

#[tokio::test]
async fn redirect_loop_is_reported_not_followed() {
    let (r, took) = against(Fault::RedirectLoop, |_| {}).await;
    assert!(
        matches!(
            r,
            Err(Error::Redirected {
                phase: Phase::Latency,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(2));
}

#[tokio::test]
async fn enormous_headers() {
    let (r, took) = against(Fault::HugeHeaders, |_| {}).await;
    assert!(
        matches!(
            r,
            Err(Error::Protocol { .. }) | Err(Error::ConnectionLost { .. })
        ),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(5));
}

#[tokio::test]
async fn captive_portal_page() {
    let (r, _) = against(Fault::CaptivePortal, |_| {}).await;
    let e = r.expect_err("a portal page is not a measurement");
    assert!(
        matches!(
            e,
            Error::Protocol {
                phase: Phase::Latency,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("captive portal"), "{e}");
}

#[tokio::test]
async fn plain_http_to_a_remote_server_is_refused_before_any_request() {
    let start = Instant::now();
    let r = measure(
        &MeasureRequest::new("http://speed.example"),
        &StaticPlatform::new(Transport::Cellular),
        &SystemClock,
        &Recorder::default(),
        &CancellationToken::new(),
    )
    .await;
    assert!(matches!(r, Err(Error::InsecureUrl { .. })), "{r:?}");
    assert!(start.elapsed() < Duration::from_millis(500));
}

/// An HTTPS reference server with a certificate for `localhost` signed by nobody.
async fn self_signed_server() -> (String, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server TLS config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind(loopback_any_port())
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = ispeed_server::router(ispeed_server::AppState::new(ServerConfig::new(
        LinkProfile {
            down_mbps: Some(20.0),
            up_mbps: Some(10.0),
            rtt_ms: 5,
        },
    )));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req| {
                    tower::ServiceExt::oneshot(app.clone(), req)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (format!("https://localhost:{port}"), pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_is_rejected_unless_trusted() {
    let (url, pem) = self_signed_server().await;
    let r = measure_on_loopback(&quick_request(url.clone())).await;
    let e = r.expect_err("an unknown issuer must not verify");
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");

    // The same server, with its certificate added as a root: a real HTTPS measurement.
    let mut req = quick_request(url.clone());
    req.config.extra_root_certificates.push(pem.clone());
    let r = measure_on_loopback(&req)
        .await
        .expect("trusted HTTPS measurement");
    let d = r.download.expect("download");
    assert!(
        (d.mbps / 20.0 - 1.0).abs() < 0.10,
        "{} Mbit/s over TLS",
        d.mbps
    );

    // Uploads counted on completion open their own TLS connections (to read the
    // kernel's acknowledged count): the same roots, the same refusal.
    let mut req = quick_request(url);
    req.protocol = ispeed_core::protocol::ProtocolKind::Librespeed;
    let e = measure_on_loopback(&req)
        .await
        .expect_err("an unknown issuer must not verify an upload either");
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
    req.config.extra_root_certificates.push(pem);
    let r = measure_on_loopback(&req)
        .await
        .expect("trusted HTTPS upload over LibreSpeed");
    // Counted, and near the link. (How close to it is the protocols test's and the
    // bench's: this server's TLS reads, paced in debug builds, reach 6-8 Mbit/s of its
    // 10 whichever client sends.) Acknowledged bytes may run ahead of this server's
    // paced reads by what its socket buffer takes in during the window, which a loaded
    // machine's short phase once pushed past 5 % of the link; a kernel's link has no
    // such buffer after its bottleneck.
    let u = r.upload.expect("upload");
    assert!(u.bytes > 0 && u.mbps > 1.0, "{u:?}");
    assert!(u.mbps < 10.0 * 1.2, "{} Mbit/s up over TLS", u.mbps);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_info_falls_through_to_another_protocol() {
    use ispeed_core::protocol::ProtocolKind;
    use ispeed_core::protocol::detect::detect;

    // The reference server also speaks LibreSpeed and Cloudflare: with a broken
    // `/info`, detection must not take it for a native server, nor fail, but move on.
    let mut config = ServerConfig::new(LinkProfile {
        down_mbps: Some(20.0),
        up_mbps: Some(10.0),
        rtt_ms: 10,
    });
    config.fault = Some(Fault::GarbageInfo);
    let server = ispeed_server::spawn(loopback_any_port(), config)
        .await
        .expect("server starts");
    let info = reqwest::get(format!("{}/info", server.url()))
        .await
        .expect("info answers")
        .text()
        .await
        .expect("info body");
    assert!(
        serde_json::from_str::<serde_json::Value>(&info).is_err(),
        "the fault serves garbage: {info}"
    );

    let mut req = quick_request(server.url());
    let start = Instant::now();
    let found = detect(&server.url(), &req.config)
        .await
        .expect("detection falls through to a protocol that works");
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(found.kind, ProtocolKind::Librespeed, "{found:?}");

    // And that protocol measures the link correctly.
    req.server = found.base;
    req.protocol = found.kind;
    let r = measure_on_loopback(&req)
        .await
        .expect("a measurement over the detected protocol");
    assert_eq!(r.server.protocol, ProtocolKind::Librespeed);
    let d = r.download.expect("download");
    assert!((d.mbps / 20.0 - 1.0).abs() < 0.10, "{} Mbit/s", d.mbps);
    server.stop().await;
}

#[tokio::test]
async fn garbage_info_and_nothing_else_is_an_unknown_protocol() {
    use axum::http::header;
    use ispeed_core::protocol::detect::detect;

    // A web server whose `/info` is broken JSON and every other path a 404 page.
    let app = axum::Router::new()
        .route(
            "/info",
            axum::routing::get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"name\": \"isp\u{0}eed\", [[[",
                )
            }),
        )
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found") });
    let listener = tokio::net::TcpListener::bind(loopback_any_port())
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let start = Instant::now();
    let e = detect(&url, &quick_request(url.clone()).config)
        .await
        .expect_err("nothing here measures");
    assert!(matches!(e, Error::UnknownProtocol { .. }), "{e:?}");
    assert_eq!(e.code(), "unknown_protocol");
    assert!(e.to_string().contains("--protocol"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_within_the_phase_budget_is_not_reported_as_zero_throughput() {
    // The stall timeout (10 s) is longer than the phase (3 s): before the fix, the
    // phase ran out of time and reported a "valid" 0.0 Mbit/s download.
    let (r, took) = against(Fault::StallAfter(100_000), |req| {
        req.config.stall_timeout = Duration::from_secs(10);
    })
    .await;
    assert!(
        matches!(
            r,
            Err(Error::Stalled {
                phase: Phase::Download,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[tokio::test]
async fn plain_http_to_a_remote_server_is_neither_detected_nor_pinged() {
    use ispeed_core::MeasureConfig;
    use ispeed_core::protocol::ProtocolKind;
    use ispeed_core::protocol::detect::detect;
    use ispeed_core::servers::{Candidate, SelectionConfig, rank};

    // 192.0.2.1 (TEST-NET-1) would time out if anything were sent to it.
    let start = Instant::now();
    let e = detect("http://192.0.2.1/", &MeasureConfig::default())
        .await
        .expect_err("refused");
    assert!(matches!(e, Error::InsecureUrl { .. }), "{e:?}");
    let candidates = [Candidate {
        name: "remote lab".to_owned(),
        url: "http://192.0.2.1/".to_owned(),
        protocol: ProtocolKind::Ispeed,
    }];
    let selection = rank(
        &candidates,
        &SelectionConfig::default(),
        &MeasureConfig::default(),
    )
    .await;
    assert!(selection.ranked.is_empty());
    assert_eq!(selection.skipped[0].code, "insecure_url");
    assert!(start.elapsed() < Duration::from_millis(500));
}
