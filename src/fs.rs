//! Files and directories with `std::fs`'s shapes, each call run as Go runs a system call.
//!
//! Regular files are always "ready" to epoll (it refuses them with `EPERM`), so the netpoller
//! cannot help: a read that misses the page cache blocks in the kernel whatever mode the fd is
//! in. Go's answer, followed here, is to make the system call on the goroutine's own M and tell
//! the scheduler (`entersyscall`/`exitsyscall`, here [`crate::blocking`]): the goroutine keeps
//! its M, and its P goes to another M only if the call takes long, so a page-cache hit costs no
//! thread hop and a slow disk (or a FIFO, or NFS) does not stop the goroutines queued behind it.
//!
//! Every function and method here is std's, called inside `blocking`, with std's signature and
//! std's errors (the same `io::Error`, raw OS error included). [`File`] wraps a `std::fs::File`
//! and converts both ways; [`ReadDir`] runs each `getdents` through `blocking` too. Types that
//! only carry data (`Metadata`, `DirEntry`, `Permissions`, `FileType`) are std's, re-exported.
//!
//! ```
//! goroutines::run(|| {
//!     let dir = std::env::temp_dir().join(format!("goroutines-fs-doc-{}", std::process::id()));
//!     goroutines::fs::create_dir_all(&dir).unwrap();
//!     let p = dir.join("hello.txt");
//!     goroutines::fs::write(&p, "hello").unwrap();
//!     assert_eq!(goroutines::fs::read_to_string(&p).unwrap(), "hello");
//!     assert_eq!(goroutines::fs::metadata(&p).unwrap().len(), 5);
//!     goroutines::fs::remove_dir_all(&dir).unwrap();
//! });
//! ```
//!
//! Rejected: a pool of file-I/O threads as `tokio::fs` uses (a thread hop and a wake-up for
//! every call, even a cached `stat`: see the `fs_metadata` benchmark), and `io_uring` (not
//! available everywhere the crate runs, and a second completion mechanism beside epoll).

use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::runtime::offload::syscall as blocking;

pub use std::fs::{DirEntry, FileTimes, FileType, Metadata, Permissions};

/// Reads the whole file at `path` (std's [`std::fs::read`]).
///
/// # Errors
/// As std: `NotFound`, `PermissionDenied`, ...
///
/// ```
/// let e = goroutines::run(|| goroutines::fs::read("/nonexistent/x").unwrap_err());
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    blocking(|| std::fs::read(path))
}

/// Reads the whole file at `path` as UTF-8 (std's [`std::fs::read_to_string`]).
///
/// # Errors
/// As std; `InvalidData` if the contents are not UTF-8.
///
/// ```
/// goroutines::run(|| assert!(goroutines::fs::read_to_string("/proc/self/stat").is_ok()));
/// ```
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    let path = path.as_ref();
    blocking(|| std::fs::read_to_string(path))
}

/// Writes `contents` to `path`, creating or truncating it (std's [`std::fs::write`]).
///
/// # Errors
/// As std.
///
/// ```
/// let p = std::env::temp_dir().join(format!("goroutines-fs-write-{}", std::process::id()));
/// goroutines::run(move || {
///     goroutines::fs::write(&p, b"abc").unwrap();
///     assert_eq!(goroutines::fs::read(&p).unwrap(), b"abc");
///     goroutines::fs::remove_file(&p).unwrap();
/// });
/// ```
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    let path = path.as_ref();
    let contents = contents.as_ref();
    blocking(|| std::fs::write(path, contents))
}

/// Copies a file's contents and permissions (std's [`std::fs::copy`]); returns the bytes copied.
///
/// # Errors
/// As std.
///
/// ```
/// let d = std::env::temp_dir();
/// let (a, b) = (d.join(format!("gr-cp-a-{}", std::process::id())), d.join(format!("gr-cp-b-{}", std::process::id())));
/// goroutines::run(move || {
///     goroutines::fs::write(&a, b"12345").unwrap();
///     assert_eq!(goroutines::fs::copy(&a, &b).unwrap(), 5);
///     goroutines::fs::remove_file(&a).unwrap();
///     goroutines::fs::remove_file(&b).unwrap();
/// });
/// ```
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let from = from.as_ref();
    let to = to.as_ref();
    blocking(|| std::fs::copy(from, to))
}

/// Renames a file or directory (std's [`std::fs::rename`]).
///
/// # Errors
/// As std.
///
/// ```
/// let e = goroutines::run(|| goroutines::fs::rename("/nonexistent/a", "/nonexistent/b").unwrap_err());
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    let from = from.as_ref();
    let to = to.as_ref();
    blocking(|| std::fs::rename(from, to))
}

/// Removes a file (std's [`std::fs::remove_file`]).
///
/// # Errors
/// As std.
///
/// ```
/// let e = goroutines::run(|| goroutines::fs::remove_file("/nonexistent/a").unwrap_err());
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::remove_file(path))
}

/// Removes an empty directory (std's [`std::fs::remove_dir`]).
///
/// # Errors
/// As std.
///
/// ```
/// let e = goroutines::run(|| goroutines::fs::remove_dir("/nonexistent/a").unwrap_err());
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::remove_dir(path))
}

/// Removes a directory and everything in it (std's [`std::fs::remove_dir_all`]).
///
/// # Errors
/// As std.
///
/// ```
/// let e = goroutines::run(|| goroutines::fs::remove_dir_all("/nonexistent/a").unwrap_err());
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::remove_dir_all(path))
}

/// Creates a directory (std's [`std::fs::create_dir`]).
///
/// # Errors
/// As std (`AlreadyExists`, `NotFound` for a missing parent, ...).
///
/// ```
/// let e = goroutines::run(|| goroutines::fs::create_dir("/").unwrap_err());
/// assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
/// ```
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::create_dir(path))
}

/// Creates a directory and its missing parents (std's [`std::fs::create_dir_all`]).
///
/// # Errors
/// As std.
///
/// ```
/// goroutines::run(|| goroutines::fs::create_dir_all(std::env::temp_dir()).unwrap());
/// ```
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::create_dir_all(path))
}

/// The metadata of `path`, following symbolic links (std's [`std::fs::metadata`]).
///
/// # Errors
/// As std.
///
/// ```
/// goroutines::run(|| assert!(goroutines::fs::metadata("/").unwrap().is_dir()));
/// ```
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    blocking(|| std::fs::metadata(path))
}

/// The metadata of `path` itself (std's [`std::fs::symlink_metadata`]).
///
/// # Errors
/// As std.
///
/// ```
/// goroutines::run(|| assert!(goroutines::fs::symlink_metadata("/proc/self").unwrap().is_symlink()));
/// ```
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    blocking(|| std::fs::symlink_metadata(path))
}

/// The absolute path with symbolic links resolved (std's [`std::fs::canonicalize`]).
///
/// # Errors
/// As std.
///
/// ```
/// goroutines::run(|| assert_eq!(goroutines::fs::canonicalize("/tmp/.").unwrap(), std::fs::canonicalize("/tmp").unwrap()));
/// ```
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref();
    blocking(|| std::fs::canonicalize(path))
}

/// The target of a symbolic link (std's [`std::fs::read_link`]).
///
/// # Errors
/// As std.
///
/// ```
/// goroutines::run(|| assert!(goroutines::fs::read_link("/proc/self").is_ok()));
/// ```
pub fn read_link<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref();
    blocking(|| std::fs::read_link(path))
}

/// Sets the permissions of `path` (std's [`std::fs::set_permissions`]).
///
/// # Errors
/// As std.
///
/// ```
/// let e = goroutines::run(|| {
///     let perm = std::fs::metadata("/").unwrap().permissions();
///     goroutines::fs::set_permissions("/nonexistent/x", perm).unwrap_err()
/// });
/// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn set_permissions<P: AsRef<Path>>(path: P, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::set_permissions(path, perm))
}

/// The entries of a directory (std's [`std::fs::read_dir`]); each step of the iterator runs
/// through [`crate::blocking`] as well.
///
/// # Errors
/// As std.
///
/// ```
/// goroutines::run(|| {
///     let n = goroutines::fs::read_dir("/").unwrap().filter_map(Result::ok).count();
///     assert!(n > 0);
/// });
/// ```
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<ReadDir> {
    let path = path.as_ref();
    blocking(|| std::fs::read_dir(path)).map(ReadDir)
}

/// Iterator over a directory's entries, from [`read_dir`].
#[derive(Debug)]
pub struct ReadDir(std::fs::ReadDir);

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<io::Result<DirEntry>> {
        blocking(|| self.0.next())
    }
}

/// An open file (std's [`std::fs::File`]); every call is a system call made as
/// [`crate::blocking`] makes it.
///
/// `Read`, `Write` and `Seek` are implemented for `File` and for `&File`, as in std.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom, Write};
/// use goroutines::fs::File;
///
/// let p = std::env::temp_dir().join(format!("goroutines-file-doc-{}", std::process::id()));
/// goroutines::run(move || {
///     let mut f = File::create(&p).unwrap();
///     f.write_all(b"hello world").unwrap();
///     f.sync_all().unwrap();
///     let mut f = File::options().read(true).write(true).open(&p).unwrap();
///     f.seek(SeekFrom::Start(6)).unwrap();
///     let mut s = String::new();
///     f.read_to_string(&mut s).unwrap();
///     assert_eq!(s, "world");
///     f.set_len(5).unwrap();
///     assert_eq!(f.metadata().unwrap().len(), 5);
///     goroutines::fs::remove_file(&p).unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct File {
    inner: std::fs::File,
}

impl File {
    /// Opens `path` read-only (std's [`std::fs::File::open`]).
    ///
    /// # Errors
    /// As std.
    ///
    /// ```
    /// let e = goroutines::run(|| goroutines::fs::File::open("/nonexistent/x").unwrap_err());
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = path.as_ref();
        blocking(|| std::fs::File::open(path)).map(File::from)
    }

    /// Opens `path` write-only, creating or truncating it (std's [`std::fs::File::create`]).
    ///
    /// # Errors
    /// As std.
    ///
    /// ```
    /// let e = goroutines::run(|| goroutines::fs::File::create("/nonexistent/x").unwrap_err());
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = path.as_ref();
        blocking(|| std::fs::File::create(path)).map(File::from)
    }

    /// Creates `path` read-write, failing if it exists (std's [`std::fs::File::create_new`]).
    ///
    /// # Errors
    /// As std: `AlreadyExists` if it exists.
    ///
    /// ```
    /// let e = goroutines::run(|| goroutines::fs::File::create_new("/").unwrap_err());
    /// assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    /// ```
    pub fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
    }

    /// A blank [`OpenOptions`] (std's [`std::fs::File::options`]).
    ///
    /// ```
    /// goroutines::run(|| assert!(goroutines::fs::File::options().read(true).open("/proc/self/stat").is_ok()));
    /// ```
    #[must_use]
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Flushes data and metadata to the device (`fsync`).
    ///
    /// # Errors
    /// As std.
    ///
    /// ```
    /// goroutines::run(|| goroutines::fs::File::open("/proc/self/stat").unwrap().sync_all().ok());
    /// ```
    pub fn sync_all(&self) -> io::Result<()> {
        blocking(|| self.inner.sync_all())
    }

    /// Flushes data to the device (`fdatasync`).
    ///
    /// # Errors
    /// As std.
    ///
    /// ```
    /// goroutines::run(|| goroutines::fs::File::open("/proc/self/stat").unwrap().sync_data().ok());
    /// ```
    pub fn sync_data(&self) -> io::Result<()> {
        blocking(|| self.inner.sync_data())
    }

    /// Truncates or extends the file to `size` bytes.
    ///
    /// # Errors
    /// As std (`InvalidInput` on a file not opened for writing).
    ///
    /// ```
    /// let e = goroutines::run(|| goroutines::fs::File::open("/proc/self/stat").unwrap().set_len(0).unwrap_err());
    /// assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        blocking(|| self.inner.set_len(size))
    }

    /// The file's metadata (`fstat`).
    ///
    /// # Errors
    /// As std.
    ///
    /// ```
    /// goroutines::run(|| assert!(goroutines::fs::File::open("/").unwrap().metadata().unwrap().is_dir()));
    /// ```
    pub fn metadata(&self) -> io::Result<Metadata> {
        blocking(|| self.inner.metadata())
    }

    /// Changes the file's permissions (`fchmod`).
    ///
    /// # Errors
    /// As std.
    ///
    /// ```
    /// let p = std::env::temp_dir().join(format!("goroutines-perm-doc-{}", std::process::id()));
    /// goroutines::run(move || {
    ///     let f = goroutines::fs::File::create(&p).unwrap();
    ///     let mut perm = f.metadata().unwrap().permissions();
    ///     perm.set_readonly(true);
    ///     f.set_permissions(perm).unwrap();
    ///     assert!(f.metadata().unwrap().permissions().readonly());
    ///     goroutines::fs::remove_file(&p).unwrap();
    /// });
    /// ```
    pub fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        blocking(|| self.inner.set_permissions(perm))
    }

    /// A second handle to the same open file (`dup`).
    ///
    /// # Errors
    /// As std (`EMFILE`).
    ///
    /// ```
    /// goroutines::run(|| assert!(goroutines::fs::File::open("/").unwrap().try_clone().is_ok()));
    /// ```
    pub fn try_clone(&self) -> io::Result<File> {
        self.inner.try_clone().map(File::from)
    }

    /// The std file inside.
    ///
    /// ```
    /// let f: std::fs::File = goroutines::fs::File::from(std::fs::File::open("/").unwrap()).into_std();
    /// # let _ = f;
    /// ```
    pub fn into_std(self) -> std::fs::File {
        self.inner
    }
}

impl Read for &File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        blocking(|| (&self.inner).read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        blocking(|| (&self.inner).read_vectored(bufs))
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        blocking(|| (&self.inner).read_to_end(buf))
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        blocking(|| (&self.inner).read_to_string(buf))
    }
}

impl Write for &File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        blocking(|| (&self.inner).write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        blocking(|| (&self.inner).write_vectored(bufs))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        blocking(|| (&self.inner).write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        blocking(|| (&self.inner).seek(pos))
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        (&*self).read_to_end(buf)
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        (&*self).read_to_string(buf)
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}

impl From<std::fs::File> for File {
    fn from(inner: std::fs::File) -> File {
        File { inner }
    }
}

impl From<File> for std::fs::File {
    fn from(f: File) -> std::fs::File {
        f.inner
    }
}

impl From<OwnedFd> for File {
    fn from(fd: OwnedFd) -> File {
        File::from(std::fs::File::from(fd))
    }
}

impl From<File> for OwnedFd {
    fn from(f: File) -> OwnedFd {
        f.inner.into()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl IntoRawFd for File {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

impl FromRawFd for File {
    /// # Safety
    /// As `std::fs::File::from_raw_fd`: `fd` is an open fd that the new `File` owns.
    unsafe fn from_raw_fd(fd: RawFd) -> File {
        // SAFETY: the caller guarantees `fd` is open and owned by nobody else, which is
        // exactly std's `from_raw_fd` contract; ownership passes to the std `File`.
        File::from(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}

/// Options for opening a file (std's [`std::fs::OpenOptions`]); [`OpenOptions::open`] runs
/// through [`crate::blocking`].
///
/// ```
/// let p = std::env::temp_dir().join(format!("goroutines-oo-doc-{}", std::process::id()));
/// goroutines::run(move || {
///     use std::io::Write;
///     let mut f = goroutines::fs::OpenOptions::new().create(true).append(true).open(&p).unwrap();
///     f.write_all(b"a").unwrap();
///     goroutines::fs::remove_file(&p).unwrap();
/// });
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// All options off (std's `OpenOptions::new`).
    ///
    /// ```
    /// let e = goroutines::run(|| goroutines::fs::OpenOptions::new().open("/").unwrap_err());
    /// assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    #[must_use]
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    ///
    /// ```
    /// goroutines::fs::OpenOptions::new().read(true);
    /// ```
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    ///
    /// ```
    /// goroutines::fs::OpenOptions::new().write(true);
    /// ```
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Writes go to the end of the file.
    ///
    /// ```
    /// goroutines::fs::OpenOptions::new().append(true);
    /// ```
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate the file to 0 bytes on opening.
    ///
    /// ```
    /// goroutines::fs::OpenOptions::new().write(true).truncate(true);
    /// ```
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist.
    ///
    /// ```
    /// goroutines::fs::OpenOptions::new().write(true).create(true);
    /// ```
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing if it exists.
    ///
    /// ```
    /// goroutines::fs::OpenOptions::new().write(true).create_new(true);
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits of a created file (std's `OpenOptionsExt::mode`).
    ///
    /// ```
    /// goroutines::fs::OpenOptions::new().write(true).create(true).mode(0o600);
    /// ```
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags (std's `OpenOptionsExt::custom_flags`).
    ///
    /// ```
    /// goroutines::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOATIME);
    /// ```
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    /// As std: `InvalidInput` for an invalid combination, `NotFound`, `AlreadyExists`, ...
    ///
    /// ```
    /// let e = goroutines::run(|| goroutines::fs::OpenOptions::new().read(true).open("/nonexistent").unwrap_err());
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn open<P: AsRef<Path>>(&self, path: P) -> io::Result<File> {
        let path = path.as_ref();
        blocking(|| self.0.open(path)).map(File::from)
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}
