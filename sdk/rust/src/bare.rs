//! What a `#![no_std]` plugin needs from a runtime, so that its component
//! imports no WASI: an allocator, a panic handler, `cabi_realloc` and the
//! few memory routines the compiler calls.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A plugin instance serves one call and is then thrown away, so the
/// allocator is an arena: it hands out memory from the end of the heap
/// upwards and takes back only the most recent block (which covers the
/// usual grow-a-vector and drop-a-temporary patterns). Nothing has to be
/// searched, split or merged, and the memory the instance starts with is
/// used before any is asked for. When every block has been freed the arena
/// starts again from the beginning. A plugin that keeps some blocks alive
/// while it allocates and frees others in a long loop uses more memory
/// than with a general-purpose allocator; the call's memory limit still
/// holds.
#[global_allocator]
static ALLOCATOR: Arena = Arena {
    base: Cell::new(0),
    next: Cell::new(0),
    end: Cell::new(0),
    live: Cell::new(0),
};

const PAGE: usize = 65536;

struct Arena {
    /// Where the arena starts; 0 until the first allocation.
    base: Cell<usize>,
    /// The first free byte.
    next: Cell<usize>,
    /// The end of the memory the arena may use.
    end: Cell<usize>,
    /// How many blocks are allocated and not yet freed.
    live: Cell<usize>,
}

// SAFETY: a plugin instance runs on one thread; wasm32 without the atomics
// feature has no other.
unsafe impl Sync for Arena {}

unsafe extern "C" {
    /// Where the linker put the start of the heap, after data and stack.
    static __heap_base: u8;
}

impl Arena {
    /// Makes `[start, start + size)` available, growing memory when needed,
    /// and moves the free pointer past it.
    fn claim(&self, start: usize, size: usize) -> bool {
        let Some(wanted_end) = start.checked_add(size) else {
            return false;
        };
        if wanted_end > self.end.get() {
            let pages = (wanted_end - self.end.get()).div_ceil(PAGE);
            let old = wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return false;
            }
            // Someone else grew memory meanwhile: the new pages do not
            // follow ours, so the block cannot go where asked, and the
            // arena moves on to the new pages.
            if old * PAGE != self.end.get() {
                self.base.set(old * PAGE);
                self.next.set(old * PAGE);
                self.end.set((old + pages) * PAGE);
                return false;
            }
            self.end.set((old + pages) * PAGE);
        }
        self.next.set(wanted_end);
        true
    }

    fn start(&self) {
        if self.base.get() == 0 {
            // Only the address of the linker's symbol is taken, which is safe.
            let base = core::ptr::addr_of!(__heap_base) as usize;
            self.base.set(base);
            self.next.set(base);
            self.end.set(wasm32::memory_size(0) * PAGE);
        }
    }
}

unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.start();
        for _ in 0..2 {
            let start = self.next.get().next_multiple_of(layout.align());
            if self.claim(start, layout.size()) {
                self.live.set(self.live.get() + 1);
                return start as *mut u8;
            }
            // A second try from where foreign growth left the arena.
        }
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        let live = self.live.get().saturating_sub(1);
        self.live.set(live);
        if live == 0 {
            // Nothing is allocated any more: start again from the base.
            self.next.set(self.base.get());
        } else if pointer as usize + layout.size() == self.next.get() {
            self.next.set(pointer as usize);
        }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = pointer as usize;
        if start + layout.size() == self.next.get() {
            // The last block grows or shrinks in place.
            self.next.set(start);
            if self.claim(start, new_size) {
                return pointer;
            }
            // Memory could not grow: the block stays where it was. (When
            // the arena moved on to pages grown by someone else instead,
            // the block is left behind in the old pages, still valid.)
            if self.next.get() == start {
                self.next.set(start + layout.size());
            }
        }
        // SAFETY: the caller guarantees `layout` and `new_size` are valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and at least this long.
            unsafe {
                core::ptr::copy_nonoverlapping(pointer, new, layout.size().min(new_size));
                self.dealloc(pointer, layout);
            }
        }
        new
    }
}

// `memcmp`, `bcmp` and friends come from wasi-libc, which ships with the
// wasm32-wasip2 target; these routines import nothing.
#[link(name = "c")]
unsafe extern "C" {}

/// Logs the panic message, then traps: the host sees `E_PLUGIN_TRAP` and
/// the trace keeps the message.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    static PANICKING: AtomicBool = AtomicBool::new(false);
    // A panic while reporting a panic (say, out of memory) must not recurse.
    if !PANICKING.swap(true, Ordering::Relaxed) {
        let message = alloc::format!("plugin panicked: {info}");
        crate::log::trap_message(&message);
    }
    wasm32::unreachable()
}

/// The allocation function of the component model's canonical ABI, which
/// the host calls to pass strings and lists into the plugin.
///
/// # Safety
///
/// Called by the host per the canonical ABI: `old` is null or a block of
/// `old_len` bytes previously returned with the same `align`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(
    old: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    let pointer = if old_len == 0 {
        if new_len == 0 {
            return align as *mut u8;
        }
        // SAFETY: `new_len` is non-zero; the canonical ABI passes a
        // power-of-two alignment.
        unsafe { alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align)) }
    } else {
        // SAFETY: per the contract above, `old` was allocated with this
        // layout.
        unsafe {
            alloc::alloc::realloc(
                old,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if pointer.is_null() {
        wasm32::unreachable();
    }
    pointer
}
