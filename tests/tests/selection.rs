//! Server selection against reference servers on loopback: the nearest wins, dead
//! entries are skipped with their reasons, and the chosen server can be measured.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use ispeed_core::MeasureConfig;
use ispeed_core::protocol::ProtocolKind;
use ispeed_core::servers::{SelectionConfig, parse_list, rank, select};
use ispeed_server::{LinkProfile, RunningServer, ServerConfig};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn server_with_rtt(rtt_ms: u64) -> std::io::Result<RunningServer> {
    ispeed_server::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ServerConfig::new(LinkProfile {
            rtt_ms,
            ..LinkProfile::default()
        }),
    )
    .await
}

/// Tight bounds so dead entries cost the test little.
fn quick() -> SelectionConfig {
    SelectionConfig {
        per_candidate: Duration::from_secs(1),
        total: Duration::from_secs(5),
        ..SelectionConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lower_rtt_server_is_selected() -> TestResult {
    let far = server_with_rtt(80).await?;
    let near = server_with_rtt(20).await?;
    // The far one first, so list order cannot be what picks the near one; and the
    // near one in LibreSpeed's dialect of our list, so protocols are mixed too.
    let list = parse_list(&format!(
        r#"{{"servers":[
            {{"name":"far","url":"{}","protocol":"ispeed"}},
            {{"name":"near","url":"{}/backend/","protocol":"librespeed"}}
        ]}}"#,
        far.url(),
        near.url()
    ))?;
    let (best, selection) = select(&list.candidates, &quick(), &MeasureConfig::default()).await?;
    assert_eq!(best.candidate.name, "near");
    assert_eq!(best.candidate.protocol, ProtocolKind::Librespeed);
    assert!(
        best.median_ms >= 20.0 && best.median_ms < 60.0,
        "{}",
        best.median_ms
    );
    assert_eq!(selection.ranked.len(), 2);
    assert!(selection.skipped.is_empty(), "{:?}", selection.skipped);
    let far_ms = selection.ranked[1].median_ms;
    assert!(far_ms >= 80.0, "{far_ms}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_entries_are_skipped_with_reasons_and_a_live_one_wins() -> TestResult {
    let live = server_with_rtt(10).await?;
    // A port nothing listens on: bind one, then free it.
    let refused = {
        let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        l.local_addr()?
    };
    // A port that completes the handshake (the kernel's backlog does that) but never
    // answers: a hung server.
    let silent = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let silent_addr = silent.local_addr()?;
    let list = parse_list(&format!(
        r#"[
          {{"name":"refused","server":"http://{refused}/","dlURL":"garbage.php","ulURL":"empty.php","pingURL":"empty.php","getIpURL":"getIP.php"}},
          {{"name":"silent","server":"http://{silent_addr}/","dlURL":"garbage.php","ulURL":"empty.php","pingURL":"empty.php","getIpURL":"getIP.php"}},
          {{"name":"port zero","server":"http://127.0.0.1:0/","dlURL":"garbage.php","ulURL":"empty.php","pingURL":"empty.php","getIpURL":"getIP.php"}},
          {{"name":"no such file","server":"{live}/nowhere/","dlURL":"garbage.php","ulURL":"empty.php","pingURL":"empty.php","getIpURL":"getIP.php"}},
          {{"name":"live","server":"{live}/","dlURL":"backend/garbage.php","ulURL":"backend/empty.php","pingURL":"backend/empty.php","getIpURL":"backend/getIP.php"}},
          {{"name":"malformed","server":5}}
        ]"#,
        live = live.url()
    ))?;
    assert_eq!(list.rejected.len(), 1, "{:?}", list.rejected);
    let started = std::time::Instant::now();
    let (best, selection) = select(&list.candidates, &quick(), &MeasureConfig::default()).await?;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "selection is bounded"
    );
    assert_eq!(best.candidate.name, "live");
    assert_eq!(best.candidate.url, format!("{}/backend/", live.url()));
    let reasons: Vec<(&str, &str)> = selection
        .skipped
        .iter()
        .map(|s| (s.candidate.name.as_str(), s.code.as_str()))
        .collect();
    assert_eq!(selection.skipped.len(), 4, "{reasons:?}");
    assert!(
        reasons.contains(&("refused", "connection_refused")),
        "{reasons:?}"
    );
    assert!(reasons.contains(&("silent", "timeout")), "{reasons:?}");
    assert!(
        reasons.contains(&("no such file", "http_status")),
        "{reasons:?}"
    );
    assert!(
        selection.skipped.iter().all(|s| !s.reason.is_empty()),
        "every skip keeps its reason"
    );
    drop(silent);
    Ok(())
}

#[tokio::test]
async fn a_list_of_dead_servers_is_an_error_naming_the_first_failure() -> TestResult {
    let refused = {
        let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        l.local_addr()?
    };
    let list = parse_list(&format!(r#"{{"servers":[{{"url":"http://{refused}/"}}]}}"#))?;
    let err = select(&list.candidates, &quick(), &MeasureConfig::default())
        .await
        .err()
        .ok_or("a dead list selected something")?;
    assert_eq!(err.code(), "no_server_reachable");
    assert!(err.to_string().contains("refused"), "{err}");
    let selection = rank(&list.candidates, &quick(), &MeasureConfig::default()).await;
    assert!(selection.best().is_none());
    Ok(())
}
