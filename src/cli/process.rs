//! Process-wide settings: as many open files as the hard limit allows (every socket is a
//! descriptor; `linkup serve` and `linkup bench` both raise it), an allocator setting, made by
//! `linkup serve`, that gives the memory of password hashing back to the system, and the
//! data directory kept to the server's user.

/// Raises the soft open-file limit to the hard one; returns the limit in force.
pub fn raise_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!("cannot raise the open-file limit: {err}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
        }
    }
}

/// Allocations above this size get their own mapping, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;

/// Pins glibc's mmap threshold. By default glibc raises it to the size of the largest block
/// freed, so after the first login every 19 MiB argon2 buffer is carved from (and kept in) one
/// of up to 8×cores arenas: measured here, 100 sign-ups left the server at 1.1 GB RSS instead
/// of 21 MB. A fixed threshold keeps large buffers in their own mappings, unmapped on free.
pub fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes an allocator parameter; it is called once at start-up,
        // and glibc serialises it with allocations internally.
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        if ok != 1 {
            tracing::warn!("cannot set the allocator's mmap threshold");
        }
    }
}

/// Makes everything the process creates readable by its user only (files 0600, directories
/// 0700, whatever the umask it was started with), and closes up a data directory and the files
/// in it that an earlier version or another tool left open.
pub fn keep_data_private(data_dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only sets this process's file-creation mask; called once at start-up.
    unsafe { libc::umask(0o077) };
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    let _ = std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700));
    for entry in entries.flatten() {
        let mode = match entry.file_type() {
            Ok(kind) if kind.is_dir() => 0o700,
            Ok(kind) if kind.is_file() => 0o600,
            _ => continue,
        };
        let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode));
    }
}
