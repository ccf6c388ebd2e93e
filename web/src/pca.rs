//! A 2-D map of embeddings: their projections on the two leading principal components,
//! found by power iteration on the (implicit) covariance `XᵀX / n` of the centred rows, the
//! second after deflating the first. O(iterations · n · dim); no `dim × dim` matrix.

/// Power-iteration steps per component; the map only needs the directions roughly.
const ITERATIONS: usize = 60;

/// # Shapes
/// `data`: `n × dim` row-major → `n × 2` row-major (x, y per row). Fewer than 2 rows or a
/// zero spread give zeros.
pub fn pca_2d(data: &[f32], dim: usize) -> Vec<f32> {
    if dim == 0 || data.len() < 2 * dim {
        return vec![0.0; 2 * data.len().checked_div(dim).unwrap_or(0)];
    }
    let n = data.len() / dim;
    let mut mean = vec![0.0f64; dim];
    for row in data.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centred: Vec<f64> = data
        .chunks_exact(dim)
        .flat_map(|row| row.iter().zip(&mean).map(|(&v, m)| f64::from(v) - m))
        .collect();
    let first = leading_direction(&centred, dim, None);
    let second = leading_direction(&centred, dim, Some(&first));
    let mut out = Vec::with_capacity(2 * n);
    for row in centred.chunks_exact(dim) {
        out.push(dot(row, &first) as f32);
        out.push(dot(row, &second) as f32);
    }
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The unit vector maximising the variance of the rows, orthogonal to `orthogonal_to`.
fn leading_direction(centred: &[f64], dim: usize, orthogonal_to: Option<&[f64]>) -> Vec<f64> {
    // A fixed, non-degenerate start: deterministic maps for the same data.
    let mut v: Vec<f64> = (0..dim).map(|i| 1.0 + (i % 7) as f64 * 0.1).collect();
    let project_out = |v: &mut Vec<f64>| {
        if let Some(u) = orthogonal_to {
            let p = dot(v, u);
            v.iter_mut().zip(u).for_each(|(x, y)| *x -= p * y);
        }
    };
    for _ in 0..ITERATIONS {
        project_out(&mut v);
        let mut next = vec![0.0; dim];
        for row in centred.chunks_exact(dim) {
            let p = dot(row, &v);
            next.iter_mut().zip(row).for_each(|(x, r)| *x += p * r);
        }
        project_out(&mut next);
        let norm = dot(&next, &next).sqrt();
        if norm < 1e-30 {
            return vec![0.0; dim];
        }
        v = next.into_iter().map(|x| x / norm).collect();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_on_a_tilted_plane_keep_their_layout() {
        // Rows spread along (1, 1, 0) and, uncorrelated and less, along (0, 0, 1): the map's x axis is the
        // first, its y axis the second (up to sign).
        let points = [(-2.0f32, 0.3f32), (-1.0, -0.6), (0.0, 0.6), (1.0, -0.6), (2.0, 0.3)];
        let data: Vec<f32> = points.iter().flat_map(|&(a, b)| [a, a, b]).collect();
        let map = pca_2d(&data, 3);
        let xs: Vec<f32> = map.chunks(2).map(|p| p[0]).collect();
        let sign = xs[4].signum();
        for (x, (a, _)) in xs.iter().zip(points) {
            assert!((x * sign - a * 2f32.sqrt()).abs() < 1e-3, "{x} vs {a}");
        }
        let ys: Vec<f32> = map.chunks(2).map(|p| p[1].abs()).collect();
        for (y, (_, b)) in ys.iter().zip(points) {
            assert!((y - b.abs()).abs() < 1e-3, "{y} vs {b}");
        }
    }

    #[test]
    fn degenerate_inputs_give_zeros() {
        assert_eq!(pca_2d(&[1.0, 2.0], 2), vec![0.0, 0.0]);
        assert_eq!(pca_2d(&[1.0, 2.0, 1.0, 2.0], 2), vec![0.0; 4]);
        assert!(pca_2d(&[], 3).is_empty());
    }
}
