use std::fmt;
use std::pin::Pin;

#[cfg(feature = "runtime-async-std")]
use async_std::io::{Read, Write, WriteExt};
use bytes::BytesMut;
use futures_util::stream::Stream;
use futures_util::task::{Context, Poll};
use futures_util::{io, ready};
use nom::Needed;
#[cfg(feature = "runtime-tokio")]
use tokio::io::{AsyncRead as Read, AsyncWrite as Write, AsyncWriteExt};

use crate::types::{Request, ResponseData};

/// Wraps a stream, and parses incoming data as imap server messages. Writes outgoing data
/// as imap client messages.
#[derive(Debug)]
pub struct ImapStream<R: Read + Write> {
    /// The underlying stream
    pub(crate) inner: R,
    /// Number of bytes the next decode operation needs if known.
    /// If the buffer contains less than this, it is a waste of time to try to parse it.
    /// If unknown, set it to 0, so decoding is always attempted.
    decode_needs: usize,
    /// The buffer.
    buffer: Buffer,

    /// True if the stream should not return any more items.
    ///
    /// This is set when reading from a stream
    /// returns an error.
    /// Afterwards the stream returns only `None`
    /// and `poll_next()` does not read
    /// from the underlying stream.
    read_closed: bool,
}

/// What the trace log shows of a command sent: everything, except credentials. `LOGIN` keeps
/// its name only (user and password are replaced), and so does `AUTHENTICATE`; a line sent
/// without a tag is the answer to a continuation request (an AUTHENTICATE exchange, which
/// carries the credentials) and is not shown, except the `DONE` that ends an IDLE.
/// (inmail patch: the published crate logged `LOGIN "user" "password"` at trace level.)
pub(crate) fn loggable(tagged: bool, bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let text = String::from_utf8_lossy(bytes);
    let word = text.split(' ').next().unwrap_or("");
    if !tagged {
        if text == "DONE" {
            return text;
        }
        return format!("<{} bytes not shown: continuation data>", bytes.len()).into();
    }
    if word.eq_ignore_ascii_case("LOGIN") || word.eq_ignore_ascii_case("AUTHENTICATE") {
        return format!("{word} <credentials not shown>").into();
    }
    text
}

impl<R: Read + Write + Unpin> ImapStream<R> {
    /// Creates a new `ImapStream` based on the given `Read`er.
    pub fn new(inner: R) -> Self {
        ImapStream {
            inner,
            buffer: Buffer::new(),
            decode_needs: 0,
            read_closed: false,
        }
    }

    pub async fn encode(&mut self, msg: Request) -> Result<(), io::Error> {
        log::trace!(
            "encode: input: {:?}, {:?}",
            msg.0,
            loggable(msg.0.is_some(), &msg.1)
        );

        if let Some(tag) = msg.0 {
            self.inner.write_all(tag.as_bytes()).await?;
            self.inner.write_all(b" ").await?;
        }
        self.inner.write_all(&msg.1).await?;
        self.inner.write_all(b"\r\n").await?;

        Ok(())
    }

    /// Gets a reference to the underlying stream.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Gets a mutable reference to the underlying stream.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Returns underlying stream.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Flushes the underlying stream.
    pub async fn flush(&mut self) -> Result<(), io::Error> {
        self.inner.flush().await
    }

    pub fn as_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Attempts to decode a single response from the buffer.
    ///
    /// Returns `None` if the buffer does not contain enough data.
    ///
    /// (inmail patch) The response is parsed in place first; a complete one is split off the
    /// front of the buffer (no copy: the split shares the allocation) and parsed again as the
    /// owner of its `ResponseData`. The published version moved the whole buffer into every
    /// attempt's `ResponseData`, replaced it with a freshly zeroed block, and on success copied
    /// what followed the response into another zeroed allocation: per message of a large FETCH,
    /// two zeroed allocations and a copy of the data read ahead.
    fn decode(&mut self) -> io::Result<Option<ResponseData>> {
        self.decode_with(parse_response)
    }

    /// `decode` with the response parser as a parameter (tests give it one that fails on a
    /// response's own bytes, to exercise the fallback).
    fn decode_with(&mut self, parse: Parse) -> io::Result<Option<ResponseData>> {
        if self.buffer.used() < self.decode_needs {
            // We know that there is not enough data to decode anything
            // from previous attempts.
            return Ok(None);
        }

        let used = self.buffer.used();
        // (inmail patch) A response whose end its line breaks and literals show is split off
        // and parsed once, as its own owner. Anything else (incomplete, or not taken whole by
        // the parser) goes the way below, as before.
        if let Some(len) = frame(&self.buffer.block[..used]) {
            let block = self.buffer.split_to(len);
            let whole = ResponseData::try_new_or_recover(block, |buf| match parse(buf) {
                Ok((rest, response)) if rest.is_empty() => Ok(response),
                _ => Err(()),
            });
            match whole {
                Ok(response) => {
                    self.decode_needs = 0;
                    return Ok(Some(response));
                }
                Err((block, ())) => self.buffer.unsplit(block),
            }
        }
        let buf = &self.buffer.block[..used];
        log::trace!("decode: input: {:?}", std::str::from_utf8(buf));
        let len = match parse(buf) {
            Ok((remaining, _)) => used - remaining.len(),
            Err(nom::Err::Incomplete(Needed::Size(min))) => {
                log::trace!("decode: incomplete data, need minimum {min} bytes");
                self.decode_needs = used + usize::from(min);
                return Ok(None);
            }
            Err(nom::Err::Incomplete(_)) => {
                log::trace!("decode: incomplete data, need unknown number of bytes");
                self.decode_needs = 0;
                return Ok(None);
            }
            Err(other) => {
                self.decode_needs = 0;
                return Err(io::Error::other(format!(
                    "{:?} during parsing of {:?}",
                    other,
                    String::from_utf8_lossy(buf)
                )));
            }
        };
        // TODO: figure out if we can use a minimum required size for a response.
        self.decode_needs = 0;
        let block = self.buffer.split_to(len);
        match ResponseData::try_new_or_recover(block, |buf| parse(buf).map(|(_, response)| response).map_err(drop)) {
            Ok(response) => Ok(Some(response)),
            Err((block, ())) => {
                // On its own bytes the response did not parse, where it did with what followed
                // (a parser looking past its end): it owns the whole buffer, as in the
                // published version, and what follows it is copied into a new one.
                let used = len + self.buffer.used();
                let whole = self.buffer.rejoin(block, len);
                ResponseData::try_new(whole, |buf| {
                    parse(&buf[..used])
                        .map(|(_, response)| response)
                        .map_err(|e| io::Error::other(format!("{e:?} when parsing a response again")))
                })
                .map(Some)
            }
        }
    }

    fn do_poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<ResponseData>>> {
        let this = &mut *self;
        if let Some(response) = this.decode()? {
            return Poll::Ready(Some(Ok(response)));
        }
        loop {
            this.buffer.ensure_capacity(this.decode_needs)?;
            let buf = this.buffer.free_as_mut_slice();

            // The buffer should have at least one byte free
            // before we try reading into it
            // so we can treat 0 bytes read as EOF.
            // This is guaranteed by `ensure_capacity()` above
            // even if it is called with 0 as an argument.
            debug_assert!(!buf.is_empty());

            #[cfg(feature = "runtime-async-std")]
            let num_bytes_read = ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;

            #[cfg(feature = "runtime-tokio")]
            let num_bytes_read = {
                let buf = &mut tokio::io::ReadBuf::new(buf);
                let start = buf.filled().len();
                ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                buf.filled().len() - start
            };

            if num_bytes_read == 0 {
                if this.buffer.used() > 0 {
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "bytes remaining in stream",
                    ))));
                }
                return Poll::Ready(None);
            }
            this.buffer.extend_used(num_bytes_read);
            if let Some(response) = this.decode()? {
                return Poll::Ready(Some(Ok(response)));
            }
        }
    }
}

/// A response parser (`parse_response`).
type Parse = for<'a> fn(&'a [u8]) -> nom::IResult<&'a [u8], imap_proto::Response<'a>>;

/// (inmail patch) The length of the first response in `buf`, found without parsing it: a line
/// runs to LF, and one that ends with a literal's announcement (`{N}` or `~{N}` before CRLF)
/// goes on after the N bytes that follow. None when the bytes end first. A line whose text
/// merely ends like an announcement is taken for one: the parser then does not take the
/// framed bytes whole, and the response is decoded the way that does not frame it.
fn frame(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let lf = pos + buf[pos..].iter().position(|&b| b == b'\n')?;
        let line = &buf[pos..lf];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match literal_len(line) {
            Some(n) => pos = (lf + 1).checked_add(n).filter(|&end| end <= buf.len())?,
            None => return Some(lf + 1),
        }
    }
}

/// N when `line` ends with `{N}`.
fn literal_len(line: &[u8]) -> Option<usize> {
    let open = line.strip_suffix(b"}")?;
    let brace = open.iter().rposition(|&b| b == b'{')?;
    let digits = &open[brace + 1..];
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn parse_response(i: &[u8]) -> nom::IResult<&[u8], imap_proto::Response<'_>> {
    imap_proto::Response::parse(i)
}

/// Abstraction around needed buffer management.
struct Buffer {
    /// The buffer itself.
    block: BytesMut,
    /// Offset where used bytes range ends.
    offset: usize,
}

impl Buffer {
    // (inmail patch) 64 KiB, not 4: a read takes up to that much, so the responses of a large
    // FETCH are mostly complete at their first parse instead of found incomplete and parsed again.
    const BLOCK_SIZE: usize = 64 * 1024;
    const MAX_CAPACITY: usize = 512 * 1024 * 1024; // 512 MiB

    fn new() -> Self {
        Self {
            block: BytesMut::zeroed(Self::BLOCK_SIZE),
            offset: 0,
        }
    }

    /// Returns the number of bytes in the buffer containing data.
    fn used(&self) -> usize {
        self.offset
    }

    /// Returns the unused part of the buffer to which new data can be written.
    fn free_as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.block[self.offset..]
    }

    /// Indicate how many new bytes were written into the buffer.
    ///
    /// When new bytes are written into the slice returned by [`free_as_mut_slice`] this method
    /// should be called to extend the used portion of the buffer to include the new data.
    ///
    /// You can not write past the end of the buffer, so extending more then there is free
    /// space marks the entire buffer as used.
    ///
    /// [`free_as_mut_slice`]: Self::free_as_mut_slice
    // aka advance()?
    fn extend_used(&mut self, num_bytes: usize) {
        self.offset += num_bytes;
        if self.offset > self.block.len() {
            self.offset = self.block.len();
        }
    }

    /// Ensure the buffer has free capacity, optionally ensuring minimum buffer size.
    fn ensure_capacity(&mut self, required: usize) -> io::Result<()> {
        let free_bytes: usize = self.block.len() - self.offset;
        let extra_bytes_needed: usize = required.saturating_sub(self.block.len());
        if free_bytes == 0 || extra_bytes_needed > 0 {
            let increase = std::cmp::max(Buffer::BLOCK_SIZE, extra_bytes_needed);
            self.grow(increase)?;
        }

        // Assert that the buffer at least one free byte.
        debug_assert!(self.offset < self.block.len());

        // Assert that the buffer has at least the required capacity.
        debug_assert!(self.block.len() >= required);
        Ok(())
    }

    /// Grows the buffer, ensuring there are free bytes in the tail.
    ///
    /// The specified number of bytes is only a minimum.  The buffer could grow by more as
    /// it will always grow in multiples of [`BLOCK_SIZE`].
    ///
    /// If the size would be larger than [`MAX_CAPACITY`] an error is returned.
    ///
    /// [`BLOCK_SIZE`]: Self::BLOCK_SIZE
    /// [`MAX_CAPACITY`]: Self::MAX_CAPACITY
    fn grow(&mut self, num_bytes: usize) -> io::Result<()> {
        let min_size = self.block.len() + num_bytes;
        let new_size = match min_size % Self::BLOCK_SIZE {
            0 => min_size,
            n => min_size + (Self::BLOCK_SIZE - n),
        };
        if new_size > Self::MAX_CAPACITY {
            Err(io::Error::other("incoming data too large"))
        } else {
            self.block.resize(new_size, 0);
            Ok(())
        }
    }

    /// (inmail patch) Split the first `len` used bytes off the buffer, without copying them;
    /// the rest of the buffer, used and free, stays.
    fn split_to(&mut self, len: usize) -> BytesMut {
        debug_assert!(len <= self.offset);
        self.offset -= len;
        self.block.split_to(len)
    }

    /// (inmail patch) Undo `split_to` whose result is `front`: the buffer is as it was (no copy,
    /// `front` and the buffer being one allocation).
    fn unsplit(&mut self, mut front: BytesMut) {
        self.offset += front.len();
        front.unsplit(std::mem::take(&mut self.block));
        self.block = front;
    }

    /// (inmail patch) Undo `split_to(len)` whose result is `front`, and hand over the whole
    /// buffer; a new one starts with a copy of the used bytes that followed the first `len`.
    fn rejoin(&mut self, mut front: BytesMut, len: usize) -> BytesMut {
        debug_assert_eq!(front.len(), len);
        let used = self.offset;
        front.unsplit(std::mem::take(&mut self.block));
        self.reset_with_data(&front[len..len + used]);
        front
    }

    /// Reset the buffer to be a new allocation with given data copied in.
    ///
    /// This allows the previously returned block from `get_block` to be used in and owned
    /// by the [ResponseData].
    ///
    /// This does not do any bounds checking to see if the new buffer would exceed the
    /// maximum size.  It will however ensure that there is at least some free space at the
    /// end of the buffer so that the next reading operation won't need to realloc right
    /// away.  This could be wasteful if the next action on the buffer is another decode
    /// rather than a read, but we don't know.
    fn reset_with_data(&mut self, data: &[u8]) {
        let min_size = data.len();
        let new_size = match min_size % Self::BLOCK_SIZE {
            0 => min_size + Self::BLOCK_SIZE,
            n => min_size + (Self::BLOCK_SIZE - n),
        };
        self.block = BytesMut::zeroed(new_size);
        self.block[..data.len()].copy_from_slice(data);

        self.offset = data.len();
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("used", &self.used())
            .field("capacity", &self.block.capacity())
            .finish()
    }
}

impl<R: Read + Write + Unpin> Stream for ImapStream<R> {
    type Item = io::Result<ResponseData>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.read_closed {
            return Poll::Ready(None);
        }
        let res = match ready!(self.as_mut().do_poll_next(cx)) {
            None => None,
            Some(Err(err)) => {
                self.read_closed = true;
                Some(Err(err))
            }
            Some(Ok(item)) => Some(Ok(item)),
        };
        Poll::Ready(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use pin_project::pin_project;
    use std::io::Write as _;

    /// Wrapper for a stream that
    /// fails once on a first read.
    ///
    /// Writes are discarded.
    #[pin_project]
    struct FailingStream {
        #[pin]
        inner: &'static [u8],
        has_failed: bool,
    }

    impl FailingStream {
        fn new(buf: &'static [u8]) -> Self {
            Self {
                inner: buf,
                has_failed: false,
            }
        }
    }

    #[cfg(feature = "runtime-tokio")]
    impl Read for FailingStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<tokio::io::Result<()>> {
            let this = self.project();
            if !*this.has_failed {
                *this.has_failed = true;

                Poll::Ready(Err(std::io::Error::other("Failure")))
            } else {
                this.inner.poll_read(cx, buf)
            }
        }
    }

    #[cfg(feature = "runtime-async-std")]
    impl Read for FailingStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<async_std::io::Result<usize>> {
            let this = self.project();
            if !*this.has_failed {
                *this.has_failed = true;

                Poll::Ready(Err(std::io::Error::other("Failure")))
            } else {
                this.inner.poll_read(cx, buf)
            }
        }
    }

    #[cfg(feature = "runtime-tokio")]
    impl Write for FailingStream {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<tokio::io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<tokio::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<tokio::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[cfg(feature = "runtime-async-std")]
    impl Write for FailingStream {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<async_std::io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<async_std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<async_std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Tests that stream returns `None` after
    /// a single error of the underlying stream.
    ///
    /// This is need to prevent accidental
    /// reading from a network stream
    /// after a temporary error such as a timeout
    /// or returning an inifinite stream of errors.
    #[cfg_attr(feature = "runtime-tokio", tokio::test)]
    #[cfg_attr(feature = "runtime-async-std", async_std::test)]
    async fn test_imap_stream_error() {
        use futures_util::StreamExt;

        let mock_stream = FailingStream::new(b"* OK\r\n");
        let mut imap_stream = ImapStream::new(mock_stream);

        // First call is an error because underlying stream fails.
        assert!(imap_stream.next().await.unwrap().is_err());

        // IMAP stream should end even though underlying stream fails only once.
        assert!(imap_stream.next().await.is_none());
    }

    #[test]
    fn test_buffer_empty() {
        let buf = Buffer::new();
        assert_eq!(buf.used(), 0);

        let mut buf = Buffer::new();
        let slice: &[u8] = buf.free_as_mut_slice();
        assert_eq!(slice.len(), Buffer::BLOCK_SIZE);
        assert_eq!(slice.len(), buf.block.len());
    }

    #[test]
    fn test_buffer_extend_use() {
        let mut buf = Buffer::new();
        buf.extend_used(3);
        assert_eq!(buf.used(), 3);
        let slice = buf.free_as_mut_slice();
        assert_eq!(slice.len(), Buffer::BLOCK_SIZE - 3);

        // Extend past the end of the buffer.
        buf.extend_used(Buffer::BLOCK_SIZE);
        assert_eq!(buf.used(), Buffer::BLOCK_SIZE);
        assert_eq!(buf.offset, Buffer::BLOCK_SIZE);
        assert_eq!(buf.block.len(), buf.offset);
        let slice = buf.free_as_mut_slice();
        assert_eq!(slice.len(), 0);
    }

    #[test]
    fn test_buffer_write_read() {
        let mut buf = Buffer::new();
        let mut slice = buf.free_as_mut_slice();
        slice.write_all(b"hello").unwrap();
        buf.extend_used(b"hello".len());

        let slice = &buf.block[..buf.used()];
        assert_eq!(slice, b"hello");
        assert_eq!(buf.free_as_mut_slice().len(), buf.block.len() - buf.offset);
    }

    #[test]
    fn test_buffer_grow() {
        let mut buf = Buffer::new();
        assert_eq!(buf.block.len(), Buffer::BLOCK_SIZE);
        buf.grow(1).unwrap();
        assert_eq!(buf.block.len(), 2 * Buffer::BLOCK_SIZE);

        buf.grow(Buffer::BLOCK_SIZE + 1).unwrap();
        assert_eq!(buf.block.len(), 4 * Buffer::BLOCK_SIZE);

        let ret = buf.grow(Buffer::MAX_CAPACITY);
        assert!(ret.is_err());
    }

    #[test]
    fn test_buffer_ensure_capacity() {
        // Initial state: 1 byte capacity left, initial size.
        let mut buf = Buffer::new();
        buf.extend_used(Buffer::BLOCK_SIZE - 1);
        assert_eq!(buf.free_as_mut_slice().len(), 1);
        assert_eq!(buf.block.len(), Buffer::BLOCK_SIZE);

        // Still has capacity, no size request.
        buf.ensure_capacity(0).unwrap();
        assert_eq!(buf.free_as_mut_slice().len(), 1);
        assert_eq!(buf.block.len(), Buffer::BLOCK_SIZE);

        // No more capacity, initial size.
        buf.extend_used(1);
        assert_eq!(buf.free_as_mut_slice().len(), 0);
        assert_eq!(buf.block.len(), Buffer::BLOCK_SIZE);

        // No capacity, no size request.
        buf.ensure_capacity(0).unwrap();
        assert_eq!(buf.free_as_mut_slice().len(), Buffer::BLOCK_SIZE);
        assert_eq!(buf.block.len(), 2 * Buffer::BLOCK_SIZE);

        // Some capacity, size request.
        buf.extend_used(5);
        assert_eq!(buf.offset, Buffer::BLOCK_SIZE + 5);
        buf.ensure_capacity(3 * Buffer::BLOCK_SIZE - 6).unwrap();
        assert_eq!(buf.free_as_mut_slice().len(), 2 * Buffer::BLOCK_SIZE - 5);
        assert_eq!(buf.block.len(), 3 * Buffer::BLOCK_SIZE);
    }

    /// Regression test for a bug in ensure_capacity() caused
    /// by a bug in byte-pool crate 0.2.2 dependency.
    ///
    /// ensure_capacity() sometimes did not ensure that
    /// at least one byte is available, which in turn
    /// resulted in attempt to read into a buffer of zero size.
    /// When poll_read() reads into a buffer of zero size,
    /// it can only read zero bytes, which is indistinguishable
    /// from EOF and resulted in an erroneous detection of EOF
    /// when in fact the stream was not closed.
    #[test]
    fn test_ensure_capacity_loop() {
        let mut buf = Buffer::new();

        for i in 1..500 {
            // Ask for `i` bytes.
            buf.ensure_capacity(i).unwrap();

            // Test that we can read at least 1 byte.
            let free = buf.free_as_mut_slice();
            let used = free.len();
            assert!(used > 0);

            // Use as much as allowed.
            buf.extend_used(used);

            // Test that we can read at least as much as requested.
            assert!(buf.block.len() >= i);
        }
    }

    /// (inmail patch) A response that parses only with the bytes after it: it is decoded anyway,
    /// and so are the responses after it.
    #[test]
    fn test_decode_when_the_response_alone_does_not_parse() {
        fn picky(i: &[u8]) -> nom::IResult<&[u8], imap_proto::Response<'_>> {
            match imap_proto::Response::parse(i) {
                Ok((rest, _)) if rest.is_empty() => Err(nom::Err::Incomplete(Needed::Unknown)),
                other => other,
            }
        }
        let data: &'static [u8] = b"* 1 EXISTS\r\n* 2 EXISTS\r\n* 3 EXISTS\r\nA1 OK done\r\n";
        let mut stream = ImapStream::new(FailingStream::new(b""));
        stream.buffer.free_as_mut_slice()[..data.len()].copy_from_slice(data);
        stream.buffer.extend_used(data.len());
        for want in [
            imap_proto::Response::MailboxData(imap_proto::MailboxDatum::Exists(1)),
            imap_proto::Response::MailboxData(imap_proto::MailboxDatum::Exists(2)),
            imap_proto::Response::MailboxData(imap_proto::MailboxDatum::Exists(3)),
        ] {
            let got = stream.decode_with(picky).unwrap().expect("a response");
            assert_eq!(got.parsed(), &want);
        }
        // The last one alone never parses with `picky`; the real parser takes it.
        assert!(stream.decode_with(picky).unwrap().is_none());
        let done = stream.decode().unwrap().expect("the tagged response");
        assert!(matches!(done.parsed(), imap_proto::Response::Done { .. }));
        assert_eq!(stream.buffer.used(), 0);
    }

    /// (inmail patch) Responses are framed by line ends and literals.
    #[test]
    fn test_frame() {
        assert_eq!(frame(b"* 1 EXISTS\r\n* 2 EXISTS\r\n"), Some(12));
        assert_eq!(frame(b"* 1 EXISTS\r"), None);
        let fetch = b"* 1 FETCH (UID 7 BODY[] {5}\r\nab\r\nc)\r\n* 2 FETCH";
        assert_eq!(frame(fetch), Some(fetch.len() - 9));
        assert_eq!(frame(&fetch[..30]), None, "inside the literal");
        assert_eq!(frame(&fetch[..33]), None, "after the literal, before the line's end");
        assert_eq!(frame(b"* 1 FETCH (BINARY[] ~{2}\r\n\n\n)\r\n"), Some(31));
        assert_eq!(frame(b"* OK {x}\r\n"), Some(10), "not a literal");
        assert_eq!(frame(b"* OK {99999999999999999999}\r\n"), Some(29), "too long to be one");
        assert_eq!(frame(b"* OK {9999999999999999999}\r\nab"), None, "a literal longer than what is there");
    }

    /// (inmail patch) What the framing gets wrong, the parser puts right: a text that ends like
    /// a literal's announcement, responses that parse alone or only with what follows.
    #[test]
    fn test_decode_framed_and_not() {
        let data: &'static [u8] =
            b"* OK fine {5}\r\n* 1 EXISTS\r\n* 2 FETCH (UID 9 BODY[] {3}\r\nab\n)\r\nA1 OK done\r\n* 3 EXI";
        let mut stream = ImapStream::new(FailingStream::new(b""));
        stream.buffer.free_as_mut_slice()[..data.len()].copy_from_slice(data);
        stream.buffer.extend_used(data.len());
        let ok = stream.decode().unwrap().expect("the untagged OK");
        assert!(matches!(ok.parsed(), imap_proto::Response::Data { .. }), "{:?}", ok.parsed());
        let exists = stream.decode().unwrap().expect("EXISTS");
        assert_eq!(exists.parsed(), &imap_proto::Response::MailboxData(imap_proto::MailboxDatum::Exists(1)));
        let fetch = stream.decode().unwrap().expect("FETCH");
        match fetch.parsed() {
            imap_proto::Response::Fetch(2, attrs) => {
                assert!(attrs.contains(&imap_proto::AttributeValue::Uid(9)));
                assert!(attrs.iter().any(|a| matches!(a, imap_proto::AttributeValue::BodySection { data: Some(d), .. } if &d[..] == b"ab\n")));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fetch.borrow_owner().len(), 35, "the response owns its own bytes only");
        let done = stream.decode().unwrap().expect("the tagged response");
        assert!(matches!(done.parsed(), imap_proto::Response::Done { .. }));
        assert!(stream.decode().unwrap().is_none(), "incomplete");
        assert_eq!(&stream.buffer.block[..stream.buffer.used()], b"* 3 EXI");
    }

    /// (inmail patch) Responses fed in random pieces decode to what the parser makes of each
    /// one alone, framed or not: literals that hold line breaks and `{N}`, texts that end like
    /// a literal's announcement, tagged and untagged lines.
    #[test]
    fn test_decode_random_pieces() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as usize
        };
        for _ in 0..300 {
            let (mut wire, mut each) = (Vec::new(), Vec::new());
            for i in 1..=20 {
                let r: Vec<u8> = match next(4) {
                    0 => format!("* {i} EXISTS\r\n").into_bytes(),
                    1 => format!("* OK text {{{}}}\r\n", next(9)).into_bytes(),
                    2 => {
                        let body: Vec<u8> = (0..next(40)).map(|_| b"a\r\n{}5 )"[next(8)]).collect();
                        let mut r = format!("* {i} FETCH (UID {} BODY[] {{{}}}\r\n", i + 100, body.len()).into_bytes();
                        r.extend_from_slice(&body);
                        r.extend_from_slice(b")\r\n");
                        r
                    }
                    _ => format!("A{i} OK done\r\n").into_bytes(),
                };
                wire.extend_from_slice(&r);
                each.push(r);
            }
            let mut stream = ImapStream::new(FailingStream::new(b""));
            let (mut got, mut fed) = (Vec::new(), 0);
            while fed < wire.len() {
                let n = (1 + next(30)).min(wire.len() - fed);
                stream.buffer.ensure_capacity(stream.buffer.used() + n).unwrap();
                stream.buffer.free_as_mut_slice()[..n].copy_from_slice(&wire[fed..fed + n]);
                stream.buffer.extend_used(n);
                fed += n;
                while let Some(r) = stream.decode().unwrap() {
                    got.push(r);
                }
            }
            assert_eq!(got.len(), each.len());
            for (g, e) in got.iter().zip(&each) {
                let (rest, want) = imap_proto::Response::parse(e).unwrap();
                assert!(rest.is_empty());
                assert_eq!(g.parsed(), &want, "{:?}", String::from_utf8_lossy(e));
            }
            assert_eq!(stream.buffer.used(), 0);
        }
    }

    #[test]
    fn test_buffer_reset_with_data() {
        // This test identifies blocks by their size.
        let data: [u8; 2 * Buffer::BLOCK_SIZE] = [b'a'; 2 * Buffer::BLOCK_SIZE];
        let mut buf = Buffer::new();
        let block_size = buf.block.len();
        assert_eq!(block_size, Buffer::BLOCK_SIZE);
        buf.reset_with_data(&data);
        assert_ne!(buf.block.len(), block_size);
        assert_eq!(buf.block.len(), 3 * Buffer::BLOCK_SIZE);
        assert!(!buf.free_as_mut_slice().is_empty());

        let data: [u8; 0] = [];
        let mut buf = Buffer::new();
        buf.reset_with_data(&data);
        assert_eq!(buf.block.len(), Buffer::BLOCK_SIZE);
    }

    #[test]
    fn test_buffer_split_to() {
        // (inmail patch) The front of the used bytes leaves without a copy; the rest stays,
        // and the buffer grows and reads on as before.
        let mut buf = Buffer::new();
        buf.free_as_mut_slice()[..10].copy_from_slice(b"0123456789");
        buf.extend_used(10);
        let front = buf.split_to(4);
        assert_eq!(&front[..], b"0123");
        assert_eq!(buf.used(), 6);
        assert_eq!(&buf.block[..buf.used()], b"456789");
        drop(front);
        buf.ensure_capacity(3 * Buffer::BLOCK_SIZE).unwrap();
        assert_eq!(&buf.block[..buf.used()], b"456789");
        assert!(buf.block.len() >= 3 * Buffer::BLOCK_SIZE);
        let all = buf.split_to(6);
        assert_eq!(&all[..], b"456789");
        assert_eq!(buf.used(), 0);
    }

    #[test]
    fn test_loggable_hides_credentials() {
        let login = loggable(true, br#"LOGIN "bounces" "pw-1""#);
        assert!(!login.contains("pw-1") && !login.contains("bounces"), "{login}");
        assert!(login.starts_with("LOGIN"));
        let auth = loggable(true, b"AUTHENTICATE PLAIN AGJvdW5jZXMAcHctMQ==");
        assert!(!auth.contains("AGJv"), "{auth}");
        let cont = loggable(false, b"AGJvdW5jZXMAcHctMQ==");
        assert!(!cont.contains("AGJv"), "{cont}");
        assert_eq!(loggable(false, b"DONE"), "DONE");
        assert_eq!(loggable(true, b"UID FETCH 1:* (UID BODY.PEEK[])"), "UID FETCH 1:* (UID BODY.PEEK[])");
    }

    #[test]
    fn test_buffer_debug() {
        assert_eq!(
            format!("{:?}", Buffer::new()),
            format!(r#"Buffer {{ used: 0, capacity: {} }}"#, Buffer::BLOCK_SIZE)
        );
    }
}
