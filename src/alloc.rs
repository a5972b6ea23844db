//! The global allocator: mimalloc, without transparent huge pages (with them, a replay's peak
//! RSS went from 38 to 78-88 MB). Analysis allocates and frees many small strings per message
//! on several threads, where glibc's malloc spent a tenth of all instructions.
//!
//! Called the way the standard library calls the system allocator: `mi_malloc` already returns
//! blocks aligned to 16 bytes (to 8 for smaller blocks), so only a stricter alignment takes
//! mimalloc's aligned path. The `mimalloc` crate sent every allocation down that path, which
//! cost 3% of a replay's instructions.
//!
//! mimalloc's v2 line (the `v2` feature), not v3: measured on the IMAP benchmark (10,000 real
//! bounces, three interleaved pairs) the daemon used 0.50-0.58 s of CPU against 0.52-0.64 s, for
//! 2-3 MB more peak RSS; a replay's peak RSS is the same.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// What `mi_malloc` guarantees on the 64-bit targets mimalloc builds for.
const MIN_ALIGN: usize = 16;

pub struct MiMalloc;

/// Does a plain allocation of `size` bytes satisfy `align`? (The standard library's rule.)
#[inline]
fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

// SAFETY: every block comes from mimalloc with at least the layout's size and alignment, and is
// freed or resized by mimalloc; `mi_free` and `mi_realloc` take blocks of either path.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if plain(l.align(), l.size()) {
            unsafe { mi::mi_malloc(l.size()) as *mut u8 }
        } else {
            unsafe { mi::mi_malloc_aligned(l.size(), l.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if plain(l.align(), l.size()) {
            unsafe { mi::mi_zalloc(l.size()) as *mut u8 }
        } else {
            unsafe { mi::mi_zalloc_aligned(l.size(), l.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, _l: Layout) {
        unsafe { mi::mi_free(p as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        if plain(l.align(), new_size) {
            unsafe { mi::mi_realloc(p as *mut c_void, new_size) as *mut u8 }
        } else {
            unsafe { mi::mi_realloc_aligned(p as *mut c_void, new_size, l.align()) as *mut u8 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MiMalloc;
    use std::alloc::{GlobalAlloc, Layout};

    #[test]
    fn blocks_have_the_asked_alignment_and_keep_their_bytes() {
        let a = MiMalloc;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1usize, 3, 8, 15, 16, 17, 24, 100, 4000, 70_000] {
                let l = Layout::from_size_align(size, align).unwrap();
                unsafe {
                    let p = a.alloc(l);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let grown = size * 3 + 5;
                    let q = a.realloc(p, l, grown);
                    assert_eq!(q as usize % align, 0, "realloc size {grown} align {align}");
                    assert!((0..size).all(|i| *q.add(i) == i as u8), "bytes kept by realloc");
                    a.dealloc(q, Layout::from_size_align(grown, align).unwrap());
                    let z = a.alloc_zeroed(l);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    a.dealloc(z, l);
                }
            }
        }
    }
}
