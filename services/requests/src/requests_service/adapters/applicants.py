"""The applicant register: personal data encrypted with one key per applicant (crypto-shredding)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date

import asyncpg
from cryptography.fernet import Fernet


@dataclass(frozen=True)
class ApplicantDetails:
    """What 条例 第二十九条 asks of an applicant; kept only here, never in an event."""

    name: str
    id_number: str | None = None  # 身份证号 or 统一社会信用代码
    phone: str | None = None
    email: str | None = None
    address: str | None = None


class ApplicantVault:
    def __init__(self, pool: asyncpg.Pool, index_key: bytes) -> None:
        self._pool = pool
        self._index_key = index_key

    def _blind_index(self, id_number: str) -> str:
        normalised = id_number.strip().upper().encode()
        return hmac.new(self._index_key, normalised, hashlib.sha256).hexdigest()

    async def enrol(self, conn: asyncpg.Connection, details: ApplicantDetails | None) -> str:
        """The applicant's pseudonymous ref: the same person (by ID number) keeps one ref."""
        index = self._blind_index(details.id_number) if details and details.id_number else None
        if index is not None:
            existing = await conn.fetchval(
                "SELECT applicant_ref FROM applicants WHERE blind_index = $1", index
            )
            if existing:
                return str(existing)
        ref = uuid.uuid4().hex
        key = Fernet.generate_key()
        plaintext = json.dumps(asdict(details) if details else {}, ensure_ascii=False).encode()
        await conn.execute(
            "INSERT INTO applicants (applicant_ref, blind_index, ciphertext) VALUES ($1, $2, $3)",
            ref,
            index,
            Fernet(key).encrypt(plaintext),
        )
        await conn.execute(
            "INSERT INTO applicant_keys (applicant_ref, key) VALUES ($1, $2)", ref, key
        )
        return ref

    async def read(self, applicant_ref: str) -> ApplicantDetails | None:
        """The details, or None when the applicant was erased (or never gave any)."""
        row = await self._pool.fetchrow(
            """SELECT a.ciphertext, k.key FROM applicants a
               LEFT JOIN applicant_keys k USING (applicant_ref) WHERE a.applicant_ref = $1""",
            applicant_ref,
        )
        if row is None or row["key"] is None:
            return None
        data = json.loads(Fernet(row["key"]).decrypt(row["ciphertext"]))
        return ApplicantDetails(**data) if data else None

    async def knows(self, conn: asyncpg.Connection, applicant_ref: str) -> bool:
        found = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM applicants WHERE applicant_ref = $1)", applicant_ref
        )
        return bool(found)

    async def erase(self, conn: asyncpg.Connection, applicant_ref: str, on: date) -> bool:
        """Destroy the key and the blind index; False when the applicant is unknown."""
        updated = await conn.execute(
            "UPDATE applicants SET blind_index = NULL, erased_on = $2 WHERE applicant_ref = $1",
            applicant_ref,
            on,
        )
        await conn.execute("DELETE FROM applicant_keys WHERE applicant_ref = $1", applicant_ref)
        return bool(updated != "UPDATE 0")
