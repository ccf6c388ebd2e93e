//! Tiles of retrieval results, from the images of the validation rows.

use oml_core::retrieval::{Distance, QueryGallery, RetrievalResults};

use super::{BLUE, GRAY, GREEN, RED, Tile};
use crate::embed::ImageItem;

/// What a picture of results is drawn from: the rows' images, their roles, what each query
/// retrieved, and the embeddings (for the distances of missed positives).
#[derive(Debug, Clone, Copy)]
pub struct ResultsView<'a> {
    pub items: &'a [ImageItem],
    pub qg: &'a QueryGallery,
    pub results: &'a RetrievalResults,
    pub embeddings: &'a [f32],
    pub dim: usize,
}

fn load(item: &ImageItem) -> anyhow::Result<image::RgbImage> {
    Ok(crate::embed::load_image(item)?)
}

impl ResultsView<'_> {
    /// One row per query (indices into the query list): the query, its top `k` (green or red),
    /// then up to `n_missed` positives outside the top `k` (gray).
    pub fn rows(
        &self,
        queries: &[usize],
        k: usize,
        n_missed: usize,
    ) -> anyhow::Result<Vec<Vec<Tile>>> {
        queries.iter().map(|&q| self.row(q, k, n_missed)).collect()
    }

    fn row(&self, q: usize, k: usize, n_missed: usize) -> anyhow::Result<Vec<Tile>> {
        let result = self.results.query(q);
        let q_row = self.qg.query_rows()[q];
        let g_rows = self.qg.gallery_rows();
        let item = |row: u32| &self.items[row as usize];
        let mut tiles = vec![Tile { image: load(item(q_row))?, border: BLUE, caption: None }];
        let correct = result.is_correct();
        for (i, (&g, &d)) in result.retrieved.iter().zip(result.distances).take(k).enumerate() {
            let border = if correct[i] { GREEN } else { RED };
            tiles.push(Tile { image: load(item(g_rows[g as usize]))?, border, caption: Some(d) });
        }
        let shown: std::collections::HashSet<u32> =
            result.retrieved.iter().take(k).copied().collect();
        let emb = |r: u32| &self.embeddings[r as usize * self.dim..(r as usize + 1) * self.dim];
        for &g in result.gt.iter().filter(|g| !shown.contains(g)).take(n_missed) {
            let g_row = g_rows[g as usize];
            let d = Distance::Euclidean.between(emb(q_row), emb(g_row));
            tiles.push(Tile { image: load(item(g_row))?, border: GRAY, caption: Some(d) });
        }
        Ok(tiles)
    }
}
