//! Frames: the header, the incremental decoder and the encoder (RFC 6455 section 5.2).

mod boundary;
mod decode;
mod encode;
mod header;

pub use boundary::{CloseSeen, FrameBoundaries};
pub use decode::{decode_frame, Decoded, Frame};
pub use encode::{encode_frame, encode_header, mask_frame};
pub use header::{FrameHeader, HeaderLayout, LengthEncoding, MAX_HEADER_LEN};
