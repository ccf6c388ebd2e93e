use oml_benches::Synthetic;
use oml_core::metrics::pcf;
use oml_core::retrieval::{Distance, Embeddings, QueryGallery, retrieve};
use std::time::Instant;
fn main() {
    let n = 10_000;
    let s = Synthetic::new(n, 384, 0);
    let all = vec![true; n];
    let qg = QueryGallery::new(s.labels.clone(), &all, &all).unwrap();
    let emb = Embeddings::new(&s.embeddings, n, 384).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let r = retrieve(&emb, &qg, 10, Distance::Euclidean).unwrap();
        let t1 = t.elapsed();
        let rows: Vec<u32> = (0..n as u32).collect();
        let t = Instant::now();
        let p = pcf(&emb, &rows, &[0.5]);
        println!(
            "retrieve {:?} pcf {:?} ({} {:?})",
            t1,
            t.elapsed(),
            r.n_queries(),
            p
        );
        let m = nalgebra::DMatrix::<f64>::from_fn(384, 384, |i, j| {
            ((i * 7 + j * 13) % 17) as f64 + if i == j { 50.0 } else { 0.0 }
        });
        let m = &m + m.transpose();
        let t = Instant::now();
        let e = m.symmetric_eigenvalues();
        println!("eigen {:?} {}", t.elapsed(), e[0]);
    }
}
#[allow(dead_code)]
fn eig() {}
