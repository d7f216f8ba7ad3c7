//! What a `#![no_std]` plugin needs from a runtime, so that its component
//! imports no WASI: an allocator, a panic handler, `cabi_realloc` and the
//! few memory routines the compiler calls.

use core::alloc::Layout;
use core::sync::atomic::{AtomicBool, Ordering};

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

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
        crate::log::error(&message);
    }
    core::arch::wasm32::unreachable()
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
        core::arch::wasm32::unreachable();
    }
    pointer
}
