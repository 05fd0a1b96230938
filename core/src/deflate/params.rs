//! The extension's parameters and their negotiation (RFC 7692 section 7.1).

use crate::handshake::ExtensionOffer;
use crate::role::Role;

/// The extension token.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// Local preferences for permessage-deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Compression level, 0 (none) to 9 (best). Default 1: on 1 KiB JSON it is ten times
    /// faster than 6 for 10.5% instead of 8.1% of the bytes (see `benches/deflate.rs`).
    pub level: u32,
    /// Messages shorter than this go out uncompressed. Default 64 bytes.
    pub min_size: usize,
    /// Ask for (client) or use (server) a fresh compression context per server message.
    pub server_no_context_takeover: bool,
    /// Ask for (server) or use (client) a fresh compression context per client message.
    pub client_no_context_takeover: bool,
    /// Largest LZ77 window (8-15) the server compresses with.
    pub server_max_window_bits: u8,
    /// Largest LZ77 window (8-15) the client compresses with. A server asks the client for
    /// this when the offer allows (browsers' offers do), and keeps this much of the client's
    /// earlier messages between messages to inflate the next (context takeover). A client
    /// offers it as its limit; 15 offers the parameter without a value, as browsers do,
    /// leaving the choice to the server ([`DeflateConfig::client`]).
    pub client_max_window_bits: u8,
    /// Bytes of our earlier messages that a message may refer back to (context takeover),
    /// at most our window. Each connection keeps this much of what it sent between messages;
    /// the zlib state itself is lent per message by the thread (see [`super::spare`]).
    pub history: usize,
}

impl DeflateConfig {
    /// A client's defaults: as [`Default`], but offering `client_max_window_bits`
    /// without a value (as browsers do), so a server may answer with any window
    /// (the server's default of 12 bits is a server's choice, not a client's limit).
    pub fn client() -> Self {
        Self {
            client_max_window_bits: 15,
            ..Self::default()
        }
    }
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            level: 1,
            min_size: 64,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 12,
            history: 4096,
        }
    }
}

/// Why a permessage-deflate offer or answer is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeflateParamError {
    /// A parameter RFC 7692 does not define.
    #[error("unknown permessage-deflate parameter {0:?}")]
    Unknown(String),
    /// A parameter given twice.
    #[error("permessage-deflate parameter {0} given more than once")]
    Duplicate(&'static str),
    /// A value out of range or not a number.
    #[error("permessage-deflate parameter {name} has invalid value {value:?} (8 to 15 expected)")]
    InvalidValue {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A value where none is allowed.
    #[error("permessage-deflate parameter {0} takes no value")]
    UnexpectedValue(&'static str),
    /// No value where one is required.
    #[error("permessage-deflate parameter {0} needs a value")]
    MissingValue(&'static str),
    /// The server's answer holds something the client did not offer, or lacks what it must hold.
    #[error("permessage-deflate answer not acceptable: {0}")]
    NotOffered(&'static str),
}

/// The parameters of one offer or answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeflateParams {
    /// `server_no_context_takeover`.
    pub server_no_context_takeover: bool,
    /// `client_no_context_takeover`.
    pub client_no_context_takeover: bool,
    /// `server_max_window_bits=N`.
    pub server_max_window_bits: Option<u8>,
    /// `client_max_window_bits` (`Some(None)`: present without a value).
    pub client_max_window_bits: Option<Option<u8>>,
}

fn window_bits(name: &'static str, value: &str) -> Result<u8, DeflateParamError> {
    let invalid = || DeflateParamError::InvalidValue {
        name,
        value: value.to_owned(),
    };
    if value.is_empty()
        || value.len() > 2
        || value.starts_with('0')
        || !value.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    match value.parse::<u8>() {
        Ok(n @ 8..=15) => Ok(n),
        _ => Err(invalid()),
    }
}

impl DeflateParams {
    /// Parses and checks one `permessage-deflate` element.
    pub fn parse(offer: &ExtensionOffer) -> Result<Self, DeflateParamError> {
        let mut p = Self::default();
        let mut seen = [false; 4];
        for (name, value) in &offer.params {
            let (slot, key): (usize, &'static str) = match name.as_str() {
                "server_no_context_takeover" => (0, "server_no_context_takeover"),
                "client_no_context_takeover" => (1, "client_no_context_takeover"),
                "server_max_window_bits" => (2, "server_max_window_bits"),
                "client_max_window_bits" => (3, "client_max_window_bits"),
                other => return Err(DeflateParamError::Unknown(other.to_owned())),
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(DeflateParamError::Duplicate(key));
            }
            match (slot, value.as_deref()) {
                (0 | 1, Some(_)) => return Err(DeflateParamError::UnexpectedValue(key)),
                (0, None) => p.server_no_context_takeover = true,
                (1, None) => p.client_no_context_takeover = true,
                (2, None) => return Err(DeflateParamError::MissingValue(key)),
                (2, Some(v)) => p.server_max_window_bits = Some(window_bits(key, v)?),
                (_, v) => {
                    p.client_max_window_bits = Some(v.map(|v| window_bits(key, v)).transpose()?)
                }
            }
        }
        Ok(p)
    }

    /// Writes these parameters as an extension element.
    pub fn to_offer(&self) -> ExtensionOffer {
        let mut params = Vec::new();
        if self.server_no_context_takeover {
            params.push(("server_no_context_takeover".to_owned(), None));
        }
        if self.client_no_context_takeover {
            params.push(("client_no_context_takeover".to_owned(), None));
        }
        if let Some(b) = self.server_max_window_bits {
            params.push(("server_max_window_bits".to_owned(), Some(b.to_string())));
        }
        if let Some(b) = self.client_max_window_bits {
            params.push((
                "client_max_window_bits".to_owned(),
                b.map(|b| b.to_string()),
            ));
        }
        ExtensionOffer {
            name: EXTENSION_NAME.to_owned(),
            params,
        }
    }
}

/// What both ends agreed, seen from one end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Window we compress with (8-15).
    pub compress_window_bits: u8,
    /// We reset our compressor after every message.
    pub compress_no_context_takeover: bool,
    /// The peer resets its compressor after every message, so we may reset our decompressor.
    pub decompress_no_context_takeover: bool,
    /// Window the peer compresses with (8-15): what we keep of its messages between messages.
    pub decompress_window_bits: u8,
}

impl Negotiated {
    fn from_answer(answer: &DeflateParams, role: Role) -> Self {
        match role {
            Role::Server => Self {
                compress_window_bits: answer.server_max_window_bits.unwrap_or(15),
                compress_no_context_takeover: answer.server_no_context_takeover,
                decompress_no_context_takeover: answer.client_no_context_takeover,
                decompress_window_bits: answer.client_max_window_bits.flatten().unwrap_or(15),
            },
            Role::Client => Self {
                compress_window_bits: answer.client_max_window_bits.flatten().unwrap_or(15),
                compress_no_context_takeover: answer.client_no_context_takeover,
                decompress_no_context_takeover: answer.server_no_context_takeover,
                decompress_window_bits: answer.server_max_window_bits.unwrap_or(15),
            },
        }
    }
}

/// Server: answers the first acceptable `permessage-deflate` offer; invalid offers are declined.
pub fn server_negotiate(
    offers: &[ExtensionOffer],
    cfg: &DeflateConfig,
) -> Option<(ExtensionOffer, Negotiated)> {
    offers
        .iter()
        .filter(|o| o.name.eq_ignore_ascii_case(EXTENSION_NAME))
        .find_map(|o| {
            let offer = DeflateParams::parse(o).ok()?;
            let server_bits = offer
                .server_max_window_bits
                .map_or(cfg.server_max_window_bits, |b| {
                    b.min(cfg.server_max_window_bits)
                });
            let client_bits = match offer.client_max_window_bits {
                None => None,
                Some(v) => {
                    let limit = v.unwrap_or(15).min(cfg.client_max_window_bits);
                    (limit < 15 || v.is_some()).then_some(Some(limit))
                }
            };
            let answer = DeflateParams {
                server_no_context_takeover: offer.server_no_context_takeover
                    || cfg.server_no_context_takeover,
                client_no_context_takeover: offer.client_no_context_takeover
                    || cfg.client_no_context_takeover,
                server_max_window_bits: (server_bits < 15
                    || offer.server_max_window_bits.is_some())
                .then_some(server_bits),
                client_max_window_bits: client_bits,
            };
            Some((
                answer.to_offer(),
                Negotiated::from_answer(&answer, Role::Server),
            ))
        })
}

/// Client: the offer to send for `cfg`.
pub fn client_offer(cfg: &DeflateConfig) -> ExtensionOffer {
    DeflateParams {
        server_no_context_takeover: cfg.server_no_context_takeover,
        client_no_context_takeover: cfg.client_no_context_takeover,
        server_max_window_bits: (cfg.server_max_window_bits < 15)
            .then_some(cfg.server_max_window_bits),
        client_max_window_bits: Some(
            (cfg.client_max_window_bits < 15).then_some(cfg.client_max_window_bits),
        ),
    }
    .to_offer()
}

/// Client: checks the server's answer against what `offer` asked for.
pub fn client_accept(
    answer: &ExtensionOffer,
    offer: &ExtensionOffer,
) -> Result<Negotiated, DeflateParamError> {
    let answer = DeflateParams::parse(answer)?;
    let offer = DeflateParams::parse(offer)?;
    if offer.server_no_context_takeover && !answer.server_no_context_takeover {
        return Err(DeflateParamError::NotOffered(
            "server_no_context_takeover was requested but not confirmed",
        ));
    }
    if let (Some(asked), Some(got)) = (offer.server_max_window_bits, answer.server_max_window_bits)
    {
        if got > asked {
            return Err(DeflateParamError::NotOffered(
                "server_max_window_bits above the requested limit",
            ));
        }
    }
    if offer.server_max_window_bits.is_some() && answer.server_max_window_bits.is_none() {
        return Err(DeflateParamError::NotOffered(
            "server_max_window_bits was requested but not confirmed",
        ));
    }
    match (offer.client_max_window_bits, answer.client_max_window_bits) {
        (None, Some(_)) => {
            return Err(DeflateParamError::NotOffered(
                "client_max_window_bits was not offered",
            ));
        }
        (_, Some(None)) => return Err(DeflateParamError::MissingValue("client_max_window_bits")),
        (Some(Some(asked)), Some(Some(got))) if got > asked => {
            return Err(DeflateParamError::NotOffered(
                "client_max_window_bits above the offered limit",
            ));
        }
        _ => {}
    }
    let mut answer = answer;
    if answer.client_max_window_bits.is_none() {
        answer.client_max_window_bits = offer.client_max_window_bits.flatten().map(Some);
    }
    Ok(Negotiated::from_answer(&answer, Role::Client))
}
