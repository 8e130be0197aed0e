//! Process-wide settings made once at start-up.

/// Turns transparent huge pages off for this process (and its children).
///
/// The allocator asks for huge pages, and every fresh one is zeroed whole (2 MiB) when
/// first touched. Decoding the log and folding events churn through short-lived
/// memory, so that zeroing took a quarter of a projection rebuild (`perf`: the kernel's
/// `clear_page_erms` under `do_huge_pmd_anonymous_page`); with huge pages off the same
/// rebuild ran 20 % faster. Failure only loses that gain, so it is ignored.
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
