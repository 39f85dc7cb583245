"""Free-text Vietnamese addresses → 2025 commune and province codes.

Citizens type both the new two-level form ("Số 12 Nguyễn Gia Thiều, Phường Kinh Bắc, Tỉnh
Bắc Ninh") and the old three-level one with a district ("45 Lê Lợi, P. Bến Thành, Q.1,
TP.HCM"), with or without diacritics and with the usual abbreviations. Old addresses are
converted through the legacy→2025 table built from vietnamadminunits
(``routing/data/legacy_wards.csv``); every code returned is checked against the annex.

The matcher works segment by segment (commas), right to left: province, then district
(old form only), then commune; what is left is the street. Matching is on a
diacritics-free key first, narrowed by the accented key only when the input has
diacritics and the plain key is ambiguous (Sa Pa / Sa Pả).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from routing.admin_units import (
    DATA_DIR,
    clean_text,
    commune_by_code,
    is_commune_code,
    load_communes,
    load_provinces,
    normalize_name,
    province_by_code,
    unaccent_key,
)

Part = Literal["address", "province", "district", "commune"]

_PART_VI = {
    "address": "địa chỉ",
    "province": "tỉnh/thành phố",
    "district": "quận/huyện (địa chỉ cũ)",
    "commune": "xã/phường/đặc khu",
}


class AddressNotRecognised(ValueError):
    """The address, or one named part of it, matches no administrative unit."""

    def __init__(self, part: Part, fragment: str, reason: str = "") -> None:
        self.part = part
        self.fragment = fragment
        detail = f" ({reason})" if reason else ""
        super().__init__(
            f"Không nhận ra {_PART_VI[part]}: “{fragment}”{detail} / "
            f"{part} not recognised: {fragment!r}"
        )


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    street: str
    commune_code: str
    commune_name: str
    province_code: str
    province_name: str
    was_legacy: bool = False
    # The old ward/district/province as recognised, in their full official names.
    legacy_text: str | None = None
    # When an old ward was split between new communes (or the input fits several), every
    # possible 2025 code, the chosen ``commune_code`` first; empty when the answer is sure.
    candidates: tuple[str, ...] = field(default=())

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1

    @property
    def display(self) -> str:
        """The address in the 2025 form, as it should be printed on a label."""
        parts = [self.street, self.commune_name, self.province_name]
        return ", ".join(p for p in parts if p)


# --- segments ---------------------------------------------------------------------------

# Unit-type words as diacritics-free token sequences → canonical type, with the accented
# spelling that must match when the citizen did type accents ("Phương" is a name, "Phường"
# a unit type; only the accents tell them apart).
_TYPE_WORDS: tuple[tuple[tuple[str, ...], str, str | None], ...] = (
    (("thi", "tran"), "thitran", "thị trấn"),
    (("thi", "xa"), "thixa", "thị xã"),
    (("thanh", "pho"), "thanhpho", "thành phố"),
    (("dac", "khu"), "dackhu", "đặc khu"),
    (("phuong",), "phuong", "phường"),
    (("xa",), "xa", "xã"),
    (("quan",), "quan", "quận"),
    (("huyen",), "huyen", "huyện"),
    (("tinh",), "tinh", "tỉnh"),
    (("tt",), "thitran", None),
    (("tx",), "thixa", None),
    (("tp",), "thanhpho", None),
    (("p",), "phuong", None),
    (("x",), "xa", None),
    (("q",), "quan", None),
    (("h",), "huyen", None),
    (("t",), "tinh", None),
)
WARD_TYPES = {"phuong", "xa", "thitran", "dackhu"}
DISTRICT_TYPES = {"quan", "huyen", "thixa", "thanhpho"}
PROVINCE_TYPES = {"tinh", "thanhpho"}

_LETTER_DIGITS = re.compile(r"^(p|q|f)(\d+)$")
_PUNCT = re.compile(r"[.,;:()\[\]/\\\"]+")
_DIGITS = re.compile(r"^0+(?=\d)")


def _has_diacritics(text: str) -> bool:
    return any(unicodedata.combining(c) or c in "đĐ" for c in unicodedata.normalize("NFD", text))


@dataclass(frozen=True, slots=True)
class _Seg:
    raw: str
    type: str | None  # canonical type word, e.g. "phuong", or None when not written
    name: str  # diacritics-free, spaces removed, leading zeros dropped: the match key
    tone: str  # accented key of the name (tone placement ignored)
    full: str  # diacritics-free key of the whole segment, type included
    accented: bool


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in _PUNCT.sub(" ", clean_text(text)).split():
        m = _LETTER_DIGITS.match(unaccent_key(tok))
        out.extend([m.group(1), m.group(2)] if m else [tok])
    return out


def _type_at(tokens: list[str], i: int, strict_accents: bool) -> tuple[str, int] | None:
    """The unit-type word starting at ``tokens[i]``: (canonical type, token count)."""
    for words, canonical, accented in _TYPE_WORDS:
        n = len(words)
        chunk = tokens[i : i + n]
        if len(chunk) != n or tuple(unaccent_key(t) for t in chunk) != words:
            continue
        typed = " ".join(chunk)
        if accented is not None and _has_diacritics(typed):
            if normalize_name(typed) != normalize_name(accented):
                continue
        elif accented is not None and strict_accents:
            # A full type word typed without accents in an otherwise accented address
            # is more likely a name ("Phuong Son") than a type.
            continue
        return canonical, n
    return None


def _segment(raw: str, strict_accents: bool = False) -> _Seg:
    tokens = _tokens(raw)
    seg_type: str | None = None
    start = 0
    found = _type_at(tokens, 0, strict_accents) if len(tokens) > 1 else None
    if found:
        seg_type, start = found
    rest = tokens[start:]
    plain = [_DIGITS.sub("", unaccent_key(t)) for t in rest]
    return _Seg(
        raw=raw.strip(),
        type=seg_type,
        name="".join(plain).replace(" ", ""),
        tone=normalize_name(" ".join(rest)),
        full=unaccent_key(" ".join(tokens)).replace(" ", ""),
        accented=_has_diacritics(" ".join(rest)),
    )


# --- unit indexes ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    code: str
    name: str
    type: str | None
    key: str
    tone: str
    aliases: frozenset[str]


def _unit(code: str, name: str, aliases: str = "") -> _Unit:
    seg = _segment(name)
    return _Unit(code, name, seg.type, seg.name, seg.tone, frozenset(aliases.split()))


def _match(units: list[_Unit], seg: _Seg) -> list[_Unit]:
    found = [u for u in units if seg.name == u.key or seg.full in u.aliases]
    if not found and seg.type is None:
        return []
    if seg.type is not None:
        typed = [u for u in found if u.type == seg.type]
        found = typed or found
    if len(found) > 1 and seg.accented:
        exact = [u for u in found if u.tone == seg.tone]
        found = exact or found
    return found


# Island districts (Côn Đảo, Lý Sơn, ...) had no wards; their one row has an empty ward.
_NO_WARD = _Unit("", "", None, "", "", frozenset())


def _read(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# Names people use for provinces that are not derivable from the official name.
_PROVINCE_EXTRA_ALIASES = {
    "01": {"hn", "hanoi", "tphn"},
    "79": {"hcm", "tphcm", "hochiminh", "saigon", "sg", "tpsg", "hcmc"},
    "46": {"thuathienhue", "tth"},
}
_LEGACY_EXTRA_ALIASES = {"77": {"brvt", "baria", "vungtau"}}


@dataclass(frozen=True, slots=True)
class _ProvinceMatch:
    code: str  # 2025 province code
    legacy_scope: tuple[str, ...]  # old province codes whose wards may be meant
    legacy_only: bool  # the name is an old province that no longer exists


@dataclass(frozen=True, slots=True)
class _LegacyWard:
    unit: _Unit
    province_code: str
    district_code: str
    new_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Index:
    new_provinces: dict[str, str]  # alias key → 2025 province code
    legacy_provinces: dict[str, str]  # alias key → old province code
    legacy_to_new: dict[str, str]
    legacy_names: dict[str, str]
    communes: dict[str, list[_Unit]]  # 2025 province code → communes
    districts: dict[str, list[_Unit]]  # old province code → districts (code = district code)
    wards: dict[tuple[str, str], list[_LegacyWard]]  # (old province, district) → wards


def _province_keys(name: str, short: str) -> set[str]:
    return {_segment(name).full, _segment(name).name, _segment(short).name}


@cache
def _index() -> _Index:
    new_provinces: dict[str, str] = {}
    for p in load_provinces():
        for key in _province_keys(p.name, p.short_name) | _PROVINCE_EXTRA_ALIASES.get(
            p.code, set()
        ):
            new_provinces[key] = p.code
    legacy_provinces: dict[str, str] = {}
    legacy_to_new: dict[str, str] = {}
    legacy_names: dict[str, str] = {}
    for r in _read("legacy_provinces.csv"):
        keys = _province_keys(r["name"], r["short_name"]) | set(r["aliases"].split())
        for key in keys | _LEGACY_EXTRA_ALIASES.get(r["code"], set()):
            legacy_provinces[key] = r["code"]
        legacy_to_new[r["code"]] = r["new_province_code"]
        legacy_names[r["code"]] = r["name"]
    communes: dict[str, list[_Unit]] = {}
    for c in load_communes():
        communes.setdefault(c.province_code, []).append(_unit(c.code, c.name))
    districts: dict[str, list[_Unit]] = {}
    for r in _read("legacy_districts.csv"):
        districts.setdefault(r["province_code"], []).append(
            _unit(r["code"], r["name"], r["aliases"])
        )
    wards: dict[tuple[str, str], list[_LegacyWard]] = {}
    for r in _read("legacy_wards.csv"):
        new_codes = tuple(r["new_commune_codes"].split())
        wards.setdefault((r["province_code"], r["district_code"]), []).append(
            _LegacyWard(
                _unit(r["code"], r["name"], r["aliases"]) if r["name"] else _NO_WARD,
                r["province_code"],
                r["district_code"],
                new_codes,
            )
        )
    return _Index(
        new_provinces, legacy_provinces, legacy_to_new, legacy_names, communes, districts, wards
    )


def _match_province(raw: str) -> _ProvinceMatch | None:
    idx = _index()
    seg = _segment(raw)
    if seg.type is not None and seg.type not in PROVINCE_TYPES:
        return None
    for key in (seg.full, seg.name):
        if key in idx.new_provinces:
            code = idx.new_provinces[key]
            same = [c for c, n in idx.legacy_to_new.items() if n == code]
            named = idx.legacy_provinces.get(key)
            scope = sorted(same, key=lambda c: (c != named, c))
            return _ProvinceMatch(code, tuple(scope), legacy_only=False)
        if key in idx.legacy_provinces:
            old = idx.legacy_provinces[key]
            return _ProvinceMatch(idx.legacy_to_new[old], (old,), legacy_only=True)
    return None


def _province_from_hint(hint: str) -> _ProvinceMatch:
    text = hint.strip()
    if text.isdigit():
        try:
            code = province_by_code(text).code
        except KeyError:
            raise AddressNotRecognised("province", hint, "province_hint") from None
        idx = _index()
        scope = tuple(sorted(c for c, n in idx.legacy_to_new.items() if n == code))
        return _ProvinceMatch(code, scope, legacy_only=False)
    found = _match_province(text)
    if found is None:
        raise AddressNotRecognised("province", hint, "province_hint")
    return found


# --- splitting -----------------------------------------------------------------------------

_COUNTRY = {"vietnam", "vn"}


def _split_segments(text: str) -> list[str]:
    # " - " separates parts only for writers who use no commas at all; with commas it is
    # part of a name ("Phan Rang - Tháp Chàm", "Bà Rịa - Vũng Tàu", "Xuân Hương - Đà Lạt").
    parts = re.split(r"[,;\n]", text)
    if len(parts) == 1:
        parts = re.split(r"\s[-–—]\s", text)
        if len(parts) > 1 and _match_province(parts[-2] + " - " + parts[-1]):
            parts = [*parts[:-2], parts[-2] + " - " + parts[-1]]
    segs = [p.strip(" .-–\t") for p in parts]
    segs = [s for s in segs if s]
    while segs and unaccent_key(segs[-1]).replace(" ", "") in _COUNTRY:
        segs.pop()
    return segs


def _split_inside(segment: str, strict_accents: bool) -> list[str]:
    """Split a comma-less run like "12 Lý Thái Tổ P Suối Hoa TP Bắc Ninh" at type words."""
    tokens = _tokens(segment)
    cuts = []
    prev_was_type = False
    for i in range(len(tokens)):
        found = _type_at(tokens, i, strict_accents)
        # The province is already peeled off, so "tinh" here is a name (Sơn Tịnh, Tuệ
        # Tĩnh) typed without accents, not a province type word.
        if found and found[0] == "tinh":
            found = None
        if found and i > 0 and not prev_was_type and i + found[1] < len(tokens):
            cuts.append(i)
        prev_was_type = found is not None
    if not cuts:
        return [segment]
    bounds = [0, *cuts, len(tokens)]
    return [" ".join(tokens[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def _province_splits(segments: list[str]) -> list[tuple[_ProvinceMatch, list[str]]]:
    """Every way the end of the text can be read as a province, most likely first."""
    out: list[tuple[_ProvinceMatch, list[str]]] = []
    last = segments[-1]
    found = _match_province(last)
    if found:
        out.append((found, segments[:-1]))
    tokens = _tokens(last)
    # Longest proper suffix first, so "TP HCM" is taken whole rather than as "HCM"; the
    # caller tries the others when a longer reading leaves no commune ("xa tue tinh hai
    # phong": "tinh hai phong" is a province reading, "hai phong" the right one).
    for i in range(1, len(tokens)):
        found = _match_province(" ".join(tokens[i:]))
        if found:
            out.append((found, [*segments[:-1], " ".join(tokens[:i])]))
    return out


# --- resolution ----------------------------------------------------------------------------


def _checked(codes: tuple[str, ...], province_code: str) -> tuple[str, ...]:
    # The conversion table comes from a third-party package; an entry that is not an annex
    # commune of the right province is dropped rather than returned.
    return tuple(
        c for c in codes if is_commune_code(c) and commune_by_code(c).province_code == province_code
    )


def _legacy_wards_in(scope: tuple[str, ...], district: _Unit | None) -> list[_LegacyWard]:
    idx = _index()
    out: list[_LegacyWard] = []
    for prov in scope:
        for (p, d), rows in idx.wards.items():
            if p == prov and (district is None or d == district.code):
                out.extend(rows)
    return out


def _match_legacy_wards(rows: list[_LegacyWard], seg: _Seg) -> list[_LegacyWard]:
    by_unit = {id(r.unit): r for r in rows}
    matched = _match([r.unit for r in rows if r.unit.code], seg)
    return [by_unit[id(u)] for u in matched]


def _match_districts(scope: tuple[str, ...], seg: _Seg) -> list[tuple[str, _Unit]]:
    idx = _index()
    out: list[tuple[str, _Unit]] = []
    for prov in scope:
        for unit in _match(idx.districts.get(prov, []), seg):
            out.append((prov, unit))
    return out


def _resolve_legacy(
    prov: _ProvinceMatch,
    ward_seg: _Seg | None,
    district_seg: _Seg | None,
    street: str,
) -> ParsedAddress:
    idx = _index()
    districts = _match_districts(prov.legacy_scope, district_seg) if district_seg else []
    if district_seg and not districts and ward_seg is None:
        raise AddressNotRecognised("district", district_seg.raw)

    rows: list[_LegacyWard] = []
    if ward_seg is None:
        # Island districts (Côn Đảo, Lý Sơn, ...) had no wards and became one đặc khu.
        for prov_code, d in districts:
            rows.extend(r for r in _legacy_wards_in((prov_code,), d) if not r.unit.code)
        if not rows:
            fragment = district_seg.raw if district_seg else street
            raise AddressNotRecognised("commune", fragment, "no ward given")
    else:
        for prov_code, d in districts:
            rows.extend(_match_legacy_wards(_legacy_wards_in((prov_code,), d), ward_seg))
        if not rows:
            # District missing, misspelt, or the ward moved district before 2025: look in
            # the whole old province and accept only what the ward name alone pins down.
            rows = _match_legacy_wards(_legacy_wards_in(prov.legacy_scope, None), ward_seg)
        if not rows:
            raise AddressNotRecognised("commune", ward_seg.raw)

    codes: list[str] = []
    for r in rows:
        for c in _checked(r.new_codes, prov.code):
            if c not in codes:
                codes.append(c)
    if not codes:
        raise AddressNotRecognised("commune", ward_seg.raw if ward_seg else street, "no 2025 unit")
    if len(codes) > 5:
        raise AddressNotRecognised(
            "district",
            district_seg.raw if district_seg else (ward_seg.raw if ward_seg else ""),
            "the ward name exists in several old districts; add the district",
        )

    first = rows[0]
    district_name = next(
        u.name for u in idx.districts[first.province_code] if u.code == first.district_code
    )
    legacy_parts = [first.unit.name, district_name, idx.legacy_names[first.province_code]]
    commune = commune_by_code(codes[0])
    province = province_by_code(prov.code)
    return ParsedAddress(
        street=street,
        commune_code=commune.code,
        commune_name=commune.name,
        province_code=province.code,
        province_name=province.name,
        was_legacy=True,
        legacy_text=", ".join(p for p in legacy_parts if p),
        candidates=tuple(codes) if len(codes) > 1 else (),
    )


def _new(prov: _ProvinceMatch, unit: _Unit, street: str, candidates: list[_Unit]) -> ParsedAddress:
    commune = commune_by_code(unit.code)
    province = province_by_code(prov.code)
    return ParsedAddress(
        street=street,
        commune_code=commune.code,
        commune_name=commune.name,
        province_code=province.code,
        province_name=province.name,
        candidates=tuple(u.code for u in candidates) if len(candidates) > 1 else (),
    )


def _infer_province(seg: _Seg) -> _ProvinceMatch | None:
    """A province from a commune name that exists in only one province."""
    idx = _index()
    hits = {code for code, units in idx.communes.items() if _match(units, seg)}
    if len(hits) == 1:
        code = hits.pop()
        scope = tuple(sorted(c for c, n in idx.legacy_to_new.items() if n == code))
        return _ProvinceMatch(code, scope, legacy_only=False)
    return None


def parse_address(text: str, *, province_hint: str | None = None) -> ParsedAddress:
    """Resolve a typed address to a 2025 commune and province.

    ``province_hint`` (a 2-digit code or a name) is used only when the text names no
    province, e.g. when the form already asked for it. Raises ``AddressNotRecognised``
    naming the part (province, district, commune) that could not be matched.
    """
    if not text or not text.strip():
        raise AddressNotRecognised("address", text or "", "empty")
    strict = _has_diacritics(text)
    segments = _split_segments(text)
    if not segments:
        raise AddressNotRecognised("address", text, "empty")

    attempts = _province_splits(segments)
    if not attempts:
        if province_hint:
            attempts = [(_province_from_hint(province_hint), segments)]
        else:
            tail = _split_inside(segments[-1], strict)[-1]
            inferred = _infer_province(_segment(tail, strict))
            if inferred is None:
                raise AddressNotRecognised("province", segments[-1])
            attempts = [(inferred, segments)]
    first_error: AddressNotRecognised | None = None
    for prov, rest in attempts:
        try:
            return _resolve(prov, rest, strict, text)
        except AddressNotRecognised as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def _resolve(prov: _ProvinceMatch, rest: list[str], strict: bool, text: str) -> ParsedAddress:
    if not rest:
        raise AddressNotRecognised("commune", text.strip(), "no commune before the province")
    # Comma-less runs are cut at unit-type words; a run with a type word inside it but not
    # at its start is not a single unit.
    pieces: list[str] = []
    for s in rest:
        pieces.extend(_split_inside(s, strict))
    segs = [_segment(p, strict) for p in pieces]

    last = segs[-1]
    before = segs[-2] if len(segs) > 1 else None

    def street_before(n: int) -> str:
        return ", ".join(p.strip() for p in pieces[: len(pieces) - n])

    # Old form, district written with its type: "..., P. Bến Thành, Q.1, TP.HCM".
    if last.type in DISTRICT_TYPES:
        ward = before if before is not None and before.type not in DISTRICT_TYPES else None
        return _resolve_legacy(prov, ward, last, street_before(2 if ward else 1))

    # Old form, district written bare: "Phường Phúc Xá, Ba Đình, Hà Nội". Checked before
    # the new form because "Ba Đình" is also a 2025 ward and would otherwise win.
    if last.type is None and before is not None and before.type in WARD_TYPES:
        districts = _match_districts(prov.legacy_scope, last)
        if districts and any(
            _match_legacy_wards(_legacy_wards_in((p,), d), before) for p, d in districts
        ):
            return _resolve_legacy(prov, before, last, street_before(2))

    if not prov.legacy_only and last.type != "thitran":
        found = _match(_index().communes[prov.code], last)
        if found:
            return _new(prov, found[0], street_before(1), found)

    return _resolve_legacy(prov, last, None, street_before(1))
