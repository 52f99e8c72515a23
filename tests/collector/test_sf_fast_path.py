"""The structured-field fast path (collector/rfc9421.py) parses exactly as http_sf does.

`_fast_dictionary` handles the shapes agents send and returns None for anything
else, which then goes to http_sf. Two properties: on the shapes it claims it must
give http_sf's result, and on near misses (escapes, tokens, spaces, long integers,
odd padding, several members) it either agrees with http_sf or declines.
"""

from __future__ import annotations

import base64
from typing import Any

import http_sf
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.rfc9421 import _fast_dictionary, parse_signature_fields
from tests.collector.live import new_key

KEYS = st.from_regex(r"[a-z*][a-z0-9_\-.*]{0,8}", fullmatch=True)
PLAIN = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12).filter(
    lambda s: '"' not in s and "\\" not in s
)
INTEGERS = st.from_regex(r"-?[0-9]{1,15}", fullmatch=True)  # RFC 8941: at most 15 digits
TOO_LONG = st.from_regex(r"-?[0-9]{16,17}", fullmatch=True)


def _http_sf(value: str) -> Any:
    try:
        return http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError):
        return "refused"


@st.composite
def agent_shaped(draw: st.DrawFn, numbers: st.SearchStrategy[str] = INTEGERS) -> str:
    """`label=:base64:` or `label=("a" "b");k="v";n=1`: what agents send."""
    key = draw(KEYS)
    if draw(st.booleans()):
        return f"{key}=:{base64.b64encode(draw(st.binary(max_size=70))).decode()}:"
    items = " ".join(f'"{s}"' for s in draw(st.lists(PLAIN, max_size=5)))
    params = "".join(
        f";{k}={v}"
        for k, v in draw(
            st.lists(st.tuples(KEYS, st.one_of(PLAIN.map(lambda s: f'"{s}"'), numbers)), max_size=6)
        )
    )
    return f"{key}=({items}){params}"


PIECES = st.sampled_from(
    ['"', "\\", " ", "\t", ",", ";", "=", ":", "(", ")", "?1", "tok", "A", "==", "-", "9" * 16]
)


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """An agent-shaped value with pieces of structured-field syntax put in at random."""
    text = draw(agent_shaped(numbers=st.one_of(INTEGERS, TOO_LONG)))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(PIECES) + text[at:]
    if draw(st.booleans()):
        text += ", " + draw(agent_shaped())
    return text


@settings(max_examples=400)
@given(agent_shaped())
def test_agent_shapes_take_the_fast_path_and_agree(value: str) -> None:
    fast = _fast_dictionary(value)
    assert fast is not None, value
    assert fast == _http_sf(value)


@settings(max_examples=1500)
@given(near_misses())
def test_near_misses_agree_or_decline(value: str) -> None:
    fast = _fast_dictionary(value)
    if fast is not None:
        assert fast == _http_sf(value), value


def test_a_real_signature_takes_the_fast_path() -> None:
    from agent.signing import signed_post

    request = signed_post("http://127.0.0.1:8443/v1/snapshots", b"{}", new_key())
    headers = request.headers
    for name in ("signature-input", "signature", "content-digest"):
        assert _fast_dictionary(headers[name]) is not None, name
    parsed = parse_signature_fields(headers["signature-input"], headers["signature"])
    assert parsed.components == ("@method", "@target-uri", "content-digest", "content-type")
