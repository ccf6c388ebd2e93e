#![allow(unsafe_code)] // A global allocator: its trait and the calls it forwards are unsafe.
//! A global allocator that keeps freed large blocks for reuse.
//!
//! glibc serves blocks above its `mmap` threshold (at most 32 MiB, however the tunables in
//! [`crate::allocator`] set it) with a fresh `mmap` and returns them with `munmap`. Training
//! allocates and frees activations of up to ~160 MB per layer and step, so each such buffer
//! costs page faults, the kernel zeroing every page, and on `munmap` a TLB shootdown
//! (an inter-processor interrupt, a VM exit under virtualisation): 25-30% of a 160 px
//! MobileNetV2 training step in a profile (benches/README.md). Steps repeat the same shapes,
//! so this wrapper keeps freed blocks of at least [`LARGE`] bytes, up to [`BUDGET`] bytes in
//! all, and hands one back for a request of exactly the same size and alignment. Everything
//! else goes to the system allocator. jemalloc and mimalloc were measured and were slower.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

/// Blocks from this size up are kept when freed.
pub const LARGE: usize = 32 << 20;
/// At most this many bytes of freed blocks are kept (the oldest go first).
pub const BUDGET: usize = 2 << 30;
/// At most this many blocks are kept.
const SLOTS: usize = 48;
/// Fresh zeroed blocks up to this size are zeroed by writing (training's activations, up to
/// ~160 MB, see below); larger ones come from `calloc` untouched.
pub const WRITE_ZEROED_UP_TO: usize = 256 << 20;

#[derive(Clone, Copy)]
struct Block {
    ptr: usize,
    size: usize,
    align: usize,
}

struct Cache {
    /// Oldest first.
    blocks: [Block; SLOTS],
    len: usize,
    bytes: usize,
}

/// The allocator; `RetainLarge::new()` in a `#[global_allocator]` static.
pub struct RetainLarge {
    cache: Mutex<Cache>,
}

impl RetainLarge {
    pub const fn new() -> Self {
        let empty = Block { ptr: 0, size: 0, align: 0 };
        Self { cache: Mutex::new(Cache { blocks: [empty; SLOTS], len: 0, bytes: 0 }) }
    }

    /// Bytes held in freed blocks now.
    pub fn cached_bytes(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.bytes)
    }

    /// A kept block of exactly `layout`, removed from the cache.
    fn take(&self, layout: Layout) -> Option<*mut u8> {
        let mut cache = self.cache.lock().ok()?;
        let len = cache.len;
        // Newest first: the block freed last is the likeliest to be warm in cache and TLB.
        let at = (0..len).rev().find(|&i| {
            let b = cache.blocks[i];
            b.size == layout.size() && b.align == layout.align()
        })?;
        let block = cache.blocks[at];
        cache.blocks.copy_within(at + 1..len, at);
        cache.len -= 1;
        cache.bytes -= block.size;
        Some(block.ptr as *mut u8)
    }

    /// Keeps a freed block, returning the blocks that no longer fit to the system (or the
    /// block itself, when it alone is over budget).
    ///
    /// # Safety
    /// `ptr` was allocated by `System` with `layout` and is not used after this call.
    unsafe fn keep(&self, ptr: *mut u8, layout: Layout) {
        let mut evicted = [Block { ptr: 0, size: 0, align: 0 }; SLOTS];
        let mut n_evicted = 0;
        let kept = match self.cache.lock() {
            Ok(mut cache) if layout.size() <= BUDGET => {
                while cache.len > 0 && (cache.len == SLOTS || cache.bytes + layout.size() > BUDGET)
                {
                    let oldest = cache.blocks[0];
                    let len = cache.len;
                    cache.blocks.copy_within(1..len, 0);
                    cache.len -= 1;
                    cache.bytes -= oldest.size;
                    evicted[n_evicted] = oldest;
                    n_evicted += 1;
                }
                let len = cache.len;
                cache.blocks[len] =
                    Block { ptr: ptr as usize, size: layout.size(), align: layout.align() };
                cache.len += 1;
                cache.bytes += layout.size();
                true
            }
            _ => false,
        };
        // Freed outside the lock.
        for b in &evicted[..n_evicted] {
            // SAFETY: every cached block came from `System` with this size and alignment.
            unsafe {
                System.dealloc(b.ptr as *mut u8, Layout::from_size_align_unchecked(b.size, b.align))
            };
        }
        if !kept {
            // SAFETY: the caller's contract.
            unsafe { System.dealloc(ptr, layout) };
        }
    }
}

impl std::fmt::Debug for RetainLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetainLarge").field("cached_bytes", &self.cached_bytes()).finish()
    }
}

impl Default for RetainLarge {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: blocks handed out are either fresh from `System` or kept blocks of exactly the
// requested size and alignment that nobody else holds (removed from the cache under its lock).
unsafe impl GlobalAlloc for RetainLarge {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE
            && let Some(ptr) = self.take(layout)
        {
            return ptr;
        }
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < LARGE {
            // SAFETY: forwarded contract.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // A kept block is cleared by writing (its pages are mapped already).
        if let Some(ptr) = self.take(layout) {
            // SAFETY: the block is `layout.size()` bytes and ours.
            unsafe { ptr.write_bytes(0, layout.size()) };
            return ptr;
        }
        if layout.size() > WRITE_ZEROED_UP_TO {
            // Larger than any activation: `calloc`, whose untouched pages cost nothing, so a
            // size a file declares commits no memory before the claim is checked.
            // SAFETY: forwarded contract.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // Up to activation sizes, zeroed by writing also when fresh: `calloc` leaves fresh
        // pages unmapped, a read then maps the shared zero page, and the first write after it
        // is a copy-on-write fault with a TLB flush on every core (most of the kernel time in
        // a training step that accumulates into zero-initialised buffers).
        // SAFETY: forwarded contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            // SAFETY: the block is `layout.size()` bytes and ours.
            unsafe { ptr.write_bytes(0, layout.size()) };
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= LARGE {
            // SAFETY: forwarded contract.
            unsafe { self.keep(ptr, layout) };
        } else {
            // SAFETY: forwarded contract.
            unsafe { System.dealloc(ptr, layout) };
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < LARGE && new_size < LARGE {
            // SAFETY: forwarded contract.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `new_size` with the old alignment is a valid layout (GlobalAlloc contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: forwarded contract.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks hold at least the smaller size and do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_freed_large_block_comes_back_for_the_same_layout_only() {
        let a = RetainLarge::new();
        let layout = Layout::from_size_align(LARGE, 64).unwrap();
        unsafe {
            let p = a.alloc(layout);
            p.write_bytes(7, layout.size());
            a.dealloc(p, layout);
            assert_eq!(a.cached_bytes(), LARGE);
            // Another size or alignment: not this block.
            let other = Layout::from_size_align(LARGE + 4096, 64).unwrap();
            let q = a.alloc(other);
            assert_ne!(q, p);
            a.dealloc(q, other);
            // The same layout, zeroed: the kept block, cleared.
            let r = a.alloc_zeroed(layout);
            assert_eq!(r, p);
            assert!(std::slice::from_raw_parts(r, layout.size()).iter().all(|&b| b == 0));
            a.dealloc(r, layout);
            // Small blocks are never kept.
            let small = Layout::from_size_align(1024, 8).unwrap();
            let before = a.cached_bytes();
            let s = a.alloc(small);
            a.dealloc(s, small);
            assert_eq!(a.cached_bytes(), before);
        }
    }

    fn resident_bytes() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
    }

    /// A size read from a file (say, a 4 GiB `.npy` header read into a `vec![0u8; n]`) must
    /// not commit memory before it is checked: a fresh zeroed block that large is not written.
    /// (Above 16-byte alignment Rust's `System` has no aligned `calloc` and writes the zeros
    /// itself; buffers read from files are byte or float vectors.)
    #[test]
    fn a_huge_fresh_zeroed_block_commits_no_memory() {
        let a = RetainLarge::new();
        let layout = Layout::from_size_align(8 << 30, 8).unwrap();
        let before = resident_bytes();
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            let grown = resident_bytes().saturating_sub(before);
            assert!(grown < 256 << 20, "8 GiB zeroed block committed {grown} bytes");
            assert_eq!(*p.add((4 << 30) + 12345), 0);
            a.dealloc(p, layout);
        }
    }

    #[test]
    fn the_budget_and_slots_bound_what_is_kept() {
        let a = RetainLarge::new();
        let size = 256 << 20;
        let layout = Layout::from_size_align(size, 8).unwrap();
        unsafe {
            let blocks: Vec<*mut u8> = (0..BUDGET / size + 2).map(|_| a.alloc(layout)).collect();
            for &p in &blocks {
                a.dealloc(p, layout);
            }
        }
        assert_eq!(a.cached_bytes(), BUDGET / size * size);
        let small = Layout::from_size_align(LARGE, 8).unwrap();
        unsafe {
            let blocks: Vec<*mut u8> = (0..SLOTS + 3).map(|_| a.alloc(small)).collect();
            for &p in &blocks {
                a.dealloc(p, small);
            }
        }
        let cache = a.cache.lock().unwrap();
        assert_eq!(cache.len, SLOTS);
        assert!(cache.bytes <= BUDGET);
    }

    #[test]
    fn realloc_across_the_threshold_keeps_the_contents() {
        let a = RetainLarge::new();
        let small = Layout::from_size_align(4096, 8).unwrap();
        unsafe {
            let p = a.alloc(small);
            p.write_bytes(3, 4096);
            let q = a.realloc(p, small, LARGE);
            assert!(std::slice::from_raw_parts(q, 4096).iter().all(|&b| b == 3));
            let r = a.realloc(q, Layout::from_size_align(LARGE, 8).unwrap(), 8192);
            assert!(std::slice::from_raw_parts(r, 4096).iter().all(|&b| b == 3));
            a.dealloc(r, Layout::from_size_align(8192, 8).unwrap());
        }
    }
}
