//! The protobuf wire format, without a schema: reading the fields of one message (skipping
//! what a caller does not know, groups included, like gogo's generated `skip`) and writing them.

/// Why bytes are not a well-formed protobuf message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The message ends inside a varint.
    #[error("truncated varint at byte {0}")]
    TruncatedVarint(usize),
    /// A varint longer than ten bytes.
    #[error("varint longer than 10 bytes at byte {0}")]
    VarintTooLong(usize),
    /// A field claims more bytes than the message has left.
    #[error("field {number} at byte {at} needs {needed} bytes but {left} are left")]
    Truncated {
        /// The field number.
        number: u32,
        /// Where the field's value starts.
        at: usize,
        /// What its length (or wire type) claims.
        needed: u64,
        /// What the message still holds.
        left: usize,
    },
    /// Wire types 6 and 7 do not exist.
    #[error("field {number}: invalid wire type {wire_type}")]
    InvalidWireType {
        /// The field number.
        number: u32,
        /// The wire type found.
        wire_type: u8,
    },
    /// Field numbers start at 1 and fit in 29 bits.
    #[error("invalid field number {0}")]
    InvalidFieldNumber(u64),
    /// An end-group marker with no group open, or a group left open.
    #[error("unbalanced group at byte {0}")]
    UnbalancedGroup(usize),
}

/// The value of one field as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: a string, bytes, an embedded message or a packed list.
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
    /// Wire types 3/4: a deprecated group, skipped whole.
    Group,
}

impl WireValue<'_> {
    /// The wire type's name, for error messages.
    pub fn wire_name(&self) -> &'static str {
        match self {
            WireValue::Varint(_) => "varint",
            WireValue::Fixed64(_) => "fixed64",
            WireValue::Bytes(_) => "length-delimited",
            WireValue::Fixed32(_) => "fixed32",
            WireValue::Group => "group",
        }
    }
}

/// The fields of one message, in wire order; stops at the first error.
pub struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

/// Iterates over the fields of `message`.
pub fn fields(message: &[u8]) -> Fields<'_> {
    Fields {
        bytes: message,
        at: 0,
        failed: false,
    }
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, WireError> {
        let start = self.at;
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or(WireError::TruncatedVarint(start))?;
            self.at += 1;
            if shift < 64 {
                value |= u64::from(byte & 0x7f) << shift;
            }
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::VarintTooLong(start))
    }

    fn take(&mut self, number: u32, needed: u64) -> Result<&'a [u8], WireError> {
        let left = self.bytes.len() - self.at;
        let truncated = WireError::Truncated {
            number,
            at: self.at,
            needed,
            left,
        };
        let len = usize::try_from(needed).map_err(|_| truncated.clone())?;
        if len > left {
            return Err(truncated);
        }
        let value = &self.bytes[self.at..self.at + len];
        self.at += len;
        Ok(value)
    }

    fn key(&mut self) -> Result<(u32, u8), WireError> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(WireError::InvalidFieldNumber(number));
        }
        Ok((number as u32, (key & 7) as u8))
    }

    /// Skips a group's contents up to its matching end marker (nested groups included).
    fn skip_group(&mut self) -> Result<(), WireError> {
        let mut depth = 1usize;
        while depth > 0 {
            if self.at >= self.bytes.len() {
                return Err(WireError::UnbalancedGroup(self.at));
            }
            let (number, wire_type) = self.key()?;
            match wire_type {
                3 => depth += 1,
                4 => depth -= 1,
                _ => {
                    self.value(number, wire_type)?;
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, number: u32, wire_type: u8) -> Result<WireValue<'a>, WireError> {
        Ok(match wire_type {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                let raw = self.take(number, 8)?;
                let mut word = [0u8; 8];
                word.copy_from_slice(raw);
                WireValue::Fixed64(u64::from_le_bytes(word))
            }
            2 => {
                let len = self.varint()?;
                WireValue::Bytes(self.take(number, len)?)
            }
            3 => {
                self.skip_group()?;
                WireValue::Group
            }
            4 => return Err(WireError::UnbalancedGroup(self.at)),
            5 => {
                let raw = self.take(number, 4)?;
                let mut word = [0u8; 4];
                word.copy_from_slice(raw);
                WireValue::Fixed32(u32::from_le_bytes(word))
            }
            wire_type => return Err(WireError::InvalidWireType { number, wire_type }),
        })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, WireValue<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.bytes.len() {
            return None;
        }
        let field = self
            .key()
            .and_then(|(number, wire_type)| Ok((number, self.value(number, wire_type)?)));
        self.failed = field.is_err();
        Some(field)
    }
}

/// The last length-delimited field `number` of `message` (protobuf's last-one-wins), if any.
pub fn bytes_field(message: &[u8], number: u32) -> Result<Option<&[u8]>, WireError> {
    let mut found = None;
    for field in fields(message) {
        if let (n, WireValue::Bytes(bytes)) = field? {
            if n == number {
                found = Some(bytes);
            }
        }
    }
    Ok(found)
}

/// Appends fields to a message, in the order written.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty message.
    pub fn new() -> Writer {
        Writer::default()
    }

    fn raw_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    /// A varint field (int32/int64 as two's complement, bool as 0/1).
    pub fn varint(&mut self, number: u32, value: u64) {
        self.raw_varint(u64::from(number) << 3);
        self.raw_varint(value);
    }

    /// A length-delimited field: a string, bytes or an encoded message.
    pub fn bytes(&mut self, number: u32, value: &[u8]) {
        self.raw_varint((u64::from(number) << 3) | 2);
        self.raw_varint(value.len() as u64);
        self.buf.extend_from_slice(value);
    }

    /// The encoded message.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}
