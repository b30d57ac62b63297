//! Prints how long the catalogue takes to parse and a search to run (release build:
//! `cargo run --release -p ispeed-areas --example search_time`).

use std::time::Instant;

fn main() {
    let t = Instant::now();
    let n = ispeed_areas::communes().len();
    let parse = t.elapsed();
    let queries = ["dan tien", "thai nguyen", "a", "phuong", "xa tan", "zzz"];
    let rounds = 200u32;
    let t = Instant::now();
    let mut found = 0;
    for _ in 0..rounds {
        for q in queries {
            found += ispeed_areas::search(q, 20).len();
        }
    }
    let per = t.elapsed() / (rounds * queries.len() as u32);
    println!("parse: {parse:?} for {n} communes; search: {per:?} per query ({found} matches)");
}
