//! The panic boundary, the thread-local error message, and the checks of
//! pointer arguments that every export goes through.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::walden_rc;

/// A failed call: the code to return and the message for `walden_errmsg`.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) rc: walden_rc,
    pub(crate) msg: Cow<'static, str>,
}

impl Fail {
    pub(crate) fn new(rc: walden_rc, msg: impl Into<Cow<'static, str>>) -> Fail {
        Fail { rc, msg: msg.into() }
    }

    /// `WALDEN_INVALID_ARGUMENT` with `msg`.
    pub(crate) fn invalid(msg: impl Into<Cow<'static, str>>) -> Fail {
        Fail::new(walden_rc::WALDEN_INVALID_ARGUMENT, msg)
    }
}

impl From<walden_std::Error> for Fail {
    fn from(e: walden_std::Error) -> Fail {
        use walden_std::Error as E;
        let rc = match &e {
            E::Busy(_) | E::Protocol => walden_rc::WALDEN_BUSY,
            E::Corrupt { .. } | E::UnsupportedVersion { .. } => walden_rc::WALDEN_CORRUPT,
            E::Io(_) => walden_rc::WALDEN_IO,
            E::Full(_) => walden_rc::WALDEN_FULL,
            E::InvalidArgument(_) | E::KeyTooLong { .. } => walden_rc::WALDEN_INVALID_ARGUMENT,
            E::ReadOnly | E::Moved(_) => walden_rc::WALDEN_READ_ONLY,
            E::Poisoned => walden_rc::WALDEN_POISONED,
            E::NotFound { .. } => walden_rc::WALDEN_NOT_FOUND,
            _ => walden_rc::WALDEN_INTERNAL,
        };
        Fail::new(rc, e.to_string())
    }
}

/// What an export's body returns.
pub(crate) type CallResult = Result<(), Fail>;

thread_local! {
    /// The calling thread's last error message, NUL-terminated; empty until
    /// the first failing call. The buffer is reused, so setting a message
    /// does not allocate once it is large enough.
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Returned by `walden_errmsg` when the thread has no message (or its
/// thread-local storage is already gone).
static EMPTY_C_STR: &CStr = c"";

/// Records `func: msg` as the calling thread's last error message.
fn set_message(func: &str, msg: &str) {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut buf) = cell.try_borrow_mut() {
            buf.clear();
            buf.extend_from_slice(func.as_bytes());
            buf.extend_from_slice(b": ");
            // A C string ends at the first NUL: show embedded ones as '?'.
            buf.extend(msg.bytes().map(|b| if b == 0 { b'?' } else { b }));
            buf.push(0);
        }
    });
}

/// Pointer to the calling thread's last error message (see `walden_errmsg`).
pub(crate) fn message_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|cell| match cell.try_borrow() {
            Ok(buf) if !buf.is_empty() => buf.as_ptr().cast::<c_char>(),
            _ => EMPTY_C_STR.as_ptr(),
        })
        .unwrap_or(EMPTY_C_STR.as_ptr())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs `f` inside the panic boundary. `Ok` gives `WALDEN_OK`; an error
/// gives its code and sets the thread's message; a panic gives
/// `WALDEN_INTERNAL` and sets the message. Nothing unwinds into C.
pub(crate) fn call(func: &'static str, f: impl FnOnce() -> CallResult) -> walden_rc {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        test_hook::maybe_panic();
        f()
    }));
    match outcome {
        Ok(Ok(())) => walden_rc::WALDEN_OK,
        Ok(Err(fail)) => {
            set_message(func, &fail.msg);
            fail.rc
        }
        Err(payload) => {
            set_message(func, &format!("internal error: panic: {}", panic_text(&*payload)));
            // Dropping a payload could itself panic; keep that inside too.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            walden_rc::WALDEN_INTERNAL
        }
    }
}

/// As [`call`] for the functions that return nothing: errors and panics
/// only set the thread's message.
pub(crate) fn call_void(func: &'static str, f: impl FnOnce() -> CallResult) {
    let _ = call(func, f);
}

/// As [`call`] for the functions that return a static C string: a panic
/// returns `fallback`.
pub(crate) fn call_str(func: &'static str, fallback: &'static CStr, f: impl FnOnce() -> *const c_char) -> *const c_char {
    let mut out = fallback.as_ptr();
    let _ = call(func, || {
        out = f();
        Ok(())
    });
    out
}

/// `p`, or `WALDEN_INVALID_ARGUMENT` naming the argument if it is NULL.
pub(crate) fn non_null<T>(p: *const T, what: &'static str) -> Result<*const T, Fail> {
    if p.is_null() {
        Err(Fail::invalid(format!("{what} is NULL")))
    } else {
        Ok(p)
    }
}

/// `p`, or `WALDEN_INVALID_ARGUMENT` naming the argument if it is NULL.
pub(crate) fn non_null_mut<T>(p: *mut T, what: &'static str) -> Result<*mut T, Fail> {
    if p.is_null() {
        Err(Fail::invalid(format!("{what} is NULL")))
    } else {
        Ok(p)
    }
}

/// The bytes `[p, p + len)`. NULL is accepted only with `len == 0` (the
/// empty byte string).
///
/// # Safety
/// If `len > 0`, `p` must point to `len` readable bytes that stay valid and
/// unmodified for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const c_void, len: usize, what: &'static str) -> Result<&'a [u8], Fail> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fail::invalid(format!("{what} is NULL but its length is {len}")));
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!("{what}: length {len} is larger than any object")));
    }
    // SAFETY: `p` is non-NULL and, by this function's contract, points to
    // `len` readable bytes valid for 'a; `len` fits in an isize (checked).
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// The table name `p` as UTF-8; NULL is the default table (`None`).
///
/// # Safety
/// A non-NULL `p` must point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn table_name<'a>(p: *const c_char) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and NUL-terminated and valid for 'a by contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| Fail::invalid("the table name is not valid UTF-8"))
}

/// A test-only hook that makes the next call through the boundary panic, to
/// check that every export catches panics. It does nothing outside
/// `cargo test` of this crate.
pub(crate) mod test_hook {
    #[cfg(test)]
    thread_local! {
        static PANIC_NEXT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        static PANIC_IN_TXN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Makes the calling thread's next operation on a transaction panic
    /// while it runs (after the transaction is marked busy).
    #[cfg(test)]
    pub(crate) fn arm_in_txn() {
        PANIC_IN_TXN.with(|p| p.set(true));
    }

    #[inline(always)]
    pub(crate) fn maybe_panic_in_txn() {
        #[cfg(test)]
        if PANIC_IN_TXN.with(|p| p.replace(false)) {
            panic!("forced inside a transaction by the test hook");
        }
    }

    /// Makes the calling thread's next export panic inside the boundary.
    #[cfg(test)]
    pub(crate) fn arm() {
        PANIC_NEXT.with(|p| p.set(true));
    }

    /// Whether the hook is still armed (the last export did not consume it).
    #[cfg(test)]
    pub(crate) fn armed() -> bool {
        PANIC_NEXT.with(|p| p.get())
    }

    #[inline(always)]
    pub(crate) fn maybe_panic() {
        #[cfg(test)]
        if PANIC_NEXT.with(|p| p.replace(false)) {
            panic!("forced by the test hook");
        }
    }
}
