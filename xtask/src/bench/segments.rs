//! Which TCP payload bytes a link delivered twice.
//!
//! A link's capacity spent on a retransmission of bytes it had already delivered (a
//! spurious retransmission timeout on a queue that swells faster than the timer
//! adapts, go-back-N after it) is capacity no transfer can count. The emulator tells
//! it apart, so a reading below what the trace offered can be told from a wrong one.

use std::collections::HashMap;

/// Payload ranges delivered so far, per TCP flow (IPv4).
#[derive(Debug, Default)]
pub struct SeenSegments {
    flows: HashMap<[u8; 12], Flow>,
}

/// One flow's delivered ranges, as offsets from the first sequence number seen.
#[derive(Debug)]
struct Flow {
    base: u32,
    /// Disjoint, sorted, non-adjacent `[start, end)` ranges.
    ranges: Vec<(u64, u64)>,
}

/// Offsets this far past the base are taken for bytes before it (sequence numbers
/// wrap): a flow of the bench moves far less than 2 GiB.
const BEFORE_BASE: u64 = 1 << 31;

impl SeenSegments {
    /// Records an IP packet as delivered; returns how many of its TCP payload bytes
    /// had been delivered before. Anything but IPv4 TCP with payload counts zero.
    pub fn delivered(&mut self, packet: &[u8]) -> u64 {
        let Some((key, seq, len)) = tcp_payload(packet) else {
            return 0;
        };
        let flow = self.flows.entry(key).or_insert(Flow {
            base: seq,
            ranges: Vec::new(),
        });
        let start = u64::from(seq.wrapping_sub(flow.base));
        if start >= BEFORE_BASE {
            return 0;
        }
        flow.insert(start, start + len)
    }
}

impl Flow {
    /// Adds `[start, end)`; returns the bytes of it already present.
    fn insert(&mut self, start: u64, end: u64) -> u64 {
        // The ranges that overlap or touch the new one.
        let first = self.ranges.partition_point(|&(_, e)| e < start);
        let last = self.ranges.partition_point(|&(s, _)| s <= end);
        let seen: u64 = self.ranges[first..last]
            .iter()
            .map(|&(s, e)| e.min(end).saturating_sub(s.max(start)))
            .sum();
        let merged = self.ranges[first..last]
            .iter()
            .fold((start, end), |(a, b), &(s, e)| (a.min(s), b.max(e)));
        self.ranges.splice(first..last, [merged]);
        seen
    }
}

/// Flow key (addresses and ports), sequence number and payload length of an IPv4
/// TCP packet carrying payload.
fn tcp_payload(p: &[u8]) -> Option<([u8; 12], u32, u64)> {
    if p.len() < 20 || p[0] >> 4 != 4 || p[9] != 6 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
    let tcp = p.get(ihl..total)?;
    if tcp.len() < 20 {
        return None;
    }
    let offset = usize::from(tcp[12] >> 4) * 4;
    let len = tcp.len().checked_sub(offset).filter(|&n| n > 0)?;
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&p[12..20]);
    key[8..].copy_from_slice(&tcp[..4]);
    let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
    Some((key, seq, len as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 TCP packet of `len` payload bytes at sequence number `seq`.
    fn packet(seq: u32, len: usize) -> Vec<u8> {
        let mut p = vec![0u8; 40 + len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((40 + len) as u16).to_be_bytes());
        p[9] = 6;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        p[20..22].copy_from_slice(&40000u16.to_be_bytes());
        p[22..24].copy_from_slice(&8080u16.to_be_bytes());
        p[24..28].copy_from_slice(&seq.to_be_bytes());
        p[32] = 5 << 4;
        p
    }

    #[test]
    fn bytes_delivered_again_are_counted_once_as_duplicates() {
        let mut seen = SeenSegments::default();
        let base = u32::MAX - 1000; // the flow's sequence numbers wrap
        assert_eq!(seen.delivered(&packet(base, 1448)), 0);
        // A hole (the second segment lost), then the third.
        assert_eq!(seen.delivered(&packet(base.wrapping_add(2896), 1448)), 0);
        // The retransmission filling the hole is new...
        assert_eq!(seen.delivered(&packet(base.wrapping_add(1448), 1448)), 0);
        // ...a go-back-N resend of all three is not, nor a part of one.
        for i in 0..3 {
            let seq = base.wrapping_add(1448 * i);
            assert_eq!(seen.delivered(&packet(seq, 1448)), 1448);
        }
        assert_eq!(seen.delivered(&packet(base.wrapping_add(4000), 1448)), 344);
        // A pure ACK, another flow's bytes and what is not TCP carry none.
        assert_eq!(seen.delivered(&packet(base, 0)), 0);
        let mut other = packet(base, 1448);
        other[20] = 1;
        assert_eq!(seen.delivered(&other), 0);
        let mut udp = packet(base, 1448);
        udp[9] = 17;
        assert_eq!(seen.delivered(&udp), 0);
    }
}
