"""A zip writer for the zip corpus (``tests/corpus/zips.py``) that sets every field itself.

Python's ``zipfile`` always writes consistent archives; hostile ones need names in any
encoding, made-up sizes, link modes, unsupported methods and real PKWARE encryption.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass


@dataclass
class Member:
    """One member as ``_raw_zip`` writes it: every field as a hostile archiver could set it."""

    name: bytes
    content: bytes
    flags: int = 0
    deflate: bool = True
    mode: int = 0o100644  # a regular file; 0o120777 is a symbolic link
    declared_size: int | None = None  # the uncompressed size written in the headers
    password: bytes | None = None  # traditional PKWARE encryption
    packed: tuple[bytes, int] | None = None  # deflated bytes and CRC, made elsewhere
    method: int | None = None  # the compression method written, when not 0 or 8


def crc_byte(crc: int, byte: int) -> int:
    return ~zlib.crc32(bytes([byte]), ~crc & 0xFFFFFFFF) & 0xFFFFFFFF


def zip_crypto(data: bytes, password: bytes, check_byte: int) -> bytes:
    """Traditional PKWARE encryption (APPNOTE 6.1), what "zip -e" writes."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(byte: int) -> None:
        keys[0] = crc_byte(keys[0], byte)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = crc_byte(keys[2], keys[1] >> 24)

    for byte in password:
        update(byte)
    out = bytearray()
    for byte in bytes(11) + bytes([check_byte]) + data:
        temp = (keys[2] | 2) & 0xFFFF
        out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(byte)
    return bytes(out)


def raw_zip(members: list[Member]) -> bytes:
    """A zip archive written field by field (APPNOTE 4.3), made by "Unix" so modes count."""
    local, central = bytearray(), bytearray()
    for member in members:
        crc = zlib.crc32(member.content)
        if member.packed is not None:
            data, crc = member.packed
        elif member.deflate:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = packer.compress(member.content) + packer.flush()
        else:
            data = member.content
        flags = member.flags
        if member.password is not None:
            data = zip_crypto(data, member.password, crc >> 24)
            flags |= 0x1
        method = 8 if member.deflate or member.packed else 0
        method = method if member.method is None else member.method
        size = len(member.content) if member.declared_size is None else member.declared_size
        fields = (20, flags, method, 0, 0x21, crc, len(data), size, len(member.name))
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + member.name + data
        central += (
            struct.pack("<IH", 0x02014B50, (3 << 8) | 20)
            + struct.pack("<HHHHHIIIHHHHHII", *fields, 0, 0, 0, 0, member.mode << 16, offset)
            + member.name
        )
    count, directory_size = len(members), len(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, directory_size, len(local), 0)
    return bytes(local + central + end)
