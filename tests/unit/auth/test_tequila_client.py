"""The Tequila client's wire format and its refusals, with a fake ``post`` (the full exchange runs
against the stand-in server in tests/functional/admin/test_tequila.py)."""

import pytest
import requests

from polybanking.auth.tequila import TequilaClient, TequilaError, encode_lines, parse_lines


class Answer:
    def __init__(self, text: str, status: int = 200):
        self.content = text.encode("utf-8")
        self.status_code = status


def client_answering(text: str, status: int = 200, calls=None):
    def post(url, **kwargs):
        if calls is not None:
            calls.append((url, kwargs))
        return Answer(text, status)

    return TequilaClient("https://tequila.example/", "Shop", timeout=2, post=post)


def test_lines_round_trip():
    assert (
        encode_lines({"urlaccess": "https://x/a?b=c", "service": "S"})
        == "urlaccess=https://x/a?b=c\nservice=S\n"
    )
    assert parse_lines("key=abc\n\nnoise\nname=Doe=Smith\r\nkey=other\n") == {
        "key": "abc",
        "name": "Doe=Smith",
    }


def test_a_newline_cannot_inject_a_field():
    with pytest.raises(TequilaError):
        encode_lines({"urlaccess": "https://x/\nallows=anyone"})


def test_create_request_posts_the_fields_with_a_timeout():
    calls = []
    key = client_answering("key=0123abcd\n", calls=calls).create_request(
        "https://pay.example/admin/login/tequila"
    )
    assert key == "0123abcd"
    url, kwargs = calls[0]
    assert url == "https://tequila.example/cgi-bin/tequila/createrequest"
    assert kwargs["timeout"] == 2 and kwargs["allow_redirects"] is False
    assert b"urlaccess=https://pay.example/admin/login/tequila\n" in kwargs["data"]
    assert b"service=Shop\n" in kwargs["data"]


@pytest.mark.parametrize("text,status", [("", 200), ("key=\n", 200), ("key=a b\n", 200), ("key=abc\n", 500)])
def test_create_request_refuses_unusable_answers(text, status):
    with pytest.raises(TequilaError):
        client_answering(text, status).create_request("https://pay.example/")


def test_network_errors_become_tequila_errors():
    def post(url, **kwargs):
        raise requests.Timeout("slow")

    with pytest.raises(TequilaError, match="Timeout"):
        TequilaClient("https://t.example", "S", post=post).create_request("https://pay.example/")


def test_fetch_attributes():
    identity = client_answering(
        "key=k1\nstatus=ok\nuniqueid=123456\nusername=jdoe,jdoe2\nfirstname=Jane\nname=Doe\nemail=j@x\n"
    ).fetch_attributes("k1")
    assert (identity.unique_id, identity.username, identity.display_name) == ("123456", "jdoe", "Jane Doe")


@pytest.mark.parametrize(
    "text",
    [
        "key=k1\nstatus=fail\nuniqueid=1\nusername=a\n",
        "key=other\nstatus=ok\nuniqueid=1\nusername=a\n",
        "key=k1\nstatus=ok\nusername=a\n",
        "key=k1\nstatus=ok\nuniqueid=1\n",
    ],
)
def test_fetch_attributes_refuses_what_tequila_does_not_vouch_for(text):
    with pytest.raises(TequilaError):
        client_answering(text).fetch_attributes("k1")


def test_malformed_keys_are_never_sent():
    calls = []
    with pytest.raises(TequilaError):
        client_answering("status=ok\n", calls=calls).fetch_attributes("k1\nuniqueid=1")
    assert calls == []
