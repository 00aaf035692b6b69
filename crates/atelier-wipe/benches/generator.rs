//! Throughput of the random-pattern generator on one core (`cargo bench -p atelier-wipe`).
//! Target: ≥ 4 GB/s for AES-128-CTR on a CPU with AES instructions.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use atelier_record::PassPattern;
use atelier_wipe::{PassContent, StreamCipherKind, StreamKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn generators(c: &mut Criterion) {
    let mut group = c.benchmark_group("pattern-fill-4MiB");
    let len = 4 << 20;
    group.throughput(Throughput::Bytes(len as u64));
    let key = StreamKey([7u8; 32]);
    for cipher in [StreamCipherKind::Aes128Ctr, StreamCipherKind::ChaCha20] {
        let content = PassContent::new(PassPattern::Random, cipher, &key);
        let mut buf = vec![0u8; len];
        let mut offset = 0u64;
        group.bench_function(cipher.name(), |b| {
            b.iter(|| {
                content.fill(&mut buf, offset);
                offset += len as u64;
            })
        });
        let mut check = vec![0u8; len];
        content.fill(&mut check, 0);
        group.bench_function(format!("{}-verify", cipher.name()), |b| {
            b.iter(|| {
                let mut copy = check.clone();
                content.mismatched_sectors(&mut copy, 0, 512)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, generators);
criterion_main!(benches);
