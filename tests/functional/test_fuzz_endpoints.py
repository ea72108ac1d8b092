"""Every public endpoint answers junk with a 4xx (or a normal answer), never a 500 (issue 8).

Requests are built at the WSGI level (webob ``Request.blank``) so nothing in a client library
cleans the junk first: undecodable bytes in bodies, query strings and paths, lying content
types, forged proxy headers. Two more tests send junk that passes the signature check (a signed
start request, a SHA-OUT signed feedback for a real order), so the code behind the check is fuzzed
too, against the real database.

Adding endpoints: extend ``PUBLIC`` with (method, path) pairs.
Answers below 500 are accepted: 200/303 for what junk may legitimately get (a form shown again, a
redirect to sign in), 4xx for the rest.
"""

import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from webob import Request

from ..fuzz import FUZZ, feedback_params, junk_text
from ..website import postfinance_sha, start_params

PUBLIC = [
    ("POST", "/paiements/start/"),
    ("GET", "/paiements/start/"),
    ("GET", "/paiements/go/{junk}"),
    ("POST", "/paiements/go/{junk}"),
    ("POST", "/paiements/ipn"),
    ("GET", "/paiements/ipn"),
    ("GET", "/paiements/return"),
    ("POST", "/paiements/return"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    # Websites' API (PROTOCOL §7).
    ("POST", "/api/transactions/"),
    ("POST", "/api/transactions/{junk}/"),
    ("POST", "/api/transactions/{junk}/logs/"),
    ("GET", "/api/transactions/{junk}/"),
    # What anyone can reach of the admin interface without signing in.
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("GET", "/admin/{junk}"),
    ("POST", "/admin/{junk}"),
    ("GET", "/static/{junk}"),
    ("GET", "/{junk}"),
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "application/json",
    "text/plain",
    "",
    "x/\x00",
]

form_body = st.lists(st.tuples(junk_text, junk_text), max_size=8).map(
    lambda pairs: urllib.parse.urlencode(pairs).encode("ascii")
)
multipart_body = st.builds(
    lambda name, value: (
        f'--xyz\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n--xyz--\r\n'
    ).encode("utf-8", "surrogatepass"),
    junk_text,
    junk_text,
)
bodies = st.one_of(form_body, multipart_body, st.binary(max_size=3000))
path_junk = st.one_of(
    st.text(max_size=60).map(lambda text: urllib.parse.quote(text, safe="/")),
    st.binary(max_size=40).map(lambda raw: urllib.parse.quote_from_bytes(raw, safe="/")),
    st.sampled_from(["%ff", "%00", "..%2f..%2fetc%2fpasswd", "a" * 5000, "%C0%AF", "😀"]),
)
query_junk = st.one_of(form_body.map(lambda body: body.decode("ascii")), path_junk)
header_junk = st.dictionaries(
    st.sampled_from(
        ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "Cookie", "Accept"]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
    max_size=3,
)


def send(app, method, path, body=b"", content_type="", query="", headers=None, content_length=None):
    request = Request.blank(urllib.parse.quote(path, safe="/%") + (f"?{query}" if query else ""))
    request.method = method
    request.environ["REMOTE_ADDR"] = "127.0.0.1"
    if method == "POST":
        request.body = body
        request.environ["CONTENT_TYPE"] = content_type
    if content_length is not None:
        request.environ["CONTENT_LENGTH"] = content_length
    for name, value in (headers or {}).items():
        request.environ["HTTP_" + name.upper().replace("-", "_")] = value
    return request.get_response(app)


@FUZZ
@given(
    endpoint=st.sampled_from(PUBLIC),
    junk=path_junk,
    body=bodies,
    content_type=st.sampled_from(CONTENT_TYPES),
    query=query_junk,
    headers=header_junk,
    content_length=st.one_of(st.none(), st.sampled_from(["", "-5", "abc", "0", "99999999999999999999"])),
)
def test_public_endpoints_never_answer_500(
    app, clean_db, endpoint, junk, body, content_type, query, headers, content_length
):
    method, pattern = endpoint
    path = pattern.replace("{junk}", junk)
    if content_length is not None and method == "GET":
        content_length = None
    answer = send(app, method, path, body, content_type, query, headers, content_length)
    assert answer.status_int < 500, (method, path, answer.status, answer.text[:300])


def test_signed_start_with_junk_values(app, make_config):
    config = make_config()

    @FUZZ
    @given(
        amount=junk_text,
        reference=junk_text,
        extra_data=junk_text,
        encoding=st.sampled_from(["utf-8", "latin-1"]),
    )
    def run(amount, reference, extra_data, encoding):
        params = start_params(config, amount, reference, extra_data)
        body = urllib.parse.urlencode(params, encoding=encoding, errors="replace").encode("ascii")
        content_type = f"application/x-www-form-urlencoded; charset={encoding}"
        answer = send(app, "POST", "/paiements/start/", body, content_type)
        assert answer.status_int in (200, 400), answer.text[:300]
        lossy = any(value.encode(encoding, "replace").decode(encoding) != value for value in params.values())
        allowed = {"OK", "AMOUNT_ERROR", "REFERENCE_ERROR", "ERROR"} | ({"KEY_ERROR"} if lossy else set())
        assert answer.json["status"] in allowed

    run()


def test_signed_feedback_with_junk_values(app, testapp, make_config, settings):
    """Feedback that passes SHA-OUT (signed with the test passphrase) for a real order, junk otherwise."""
    config = make_config()
    orders = []
    for n in range(5):
        token = (
            testapp.post("/paiements/start/", start_params(config, "550", f"fuzz-{n}"))
            .json["url"]
            .rsplit("/")[-1]
        )
        orders.append(testapp.get(f"/paiements/go/{token}").html.find("input", {"name": "ORDERID"})["value"])

    @FUZZ
    @given(
        params=feedback_params,
        order_id=st.sampled_from(orders),
        order_name=st.sampled_from(["orderID", "ORDERID"]),
        channel=st.sampled_from(["POST /paiements/ipn", "POST /paiements/return", "GET /paiements/return"]),
    )
    def run(params, order_id, order_name, channel):
        values = dict(params)
        values.setdefault(order_name, order_id)
        keys = settings.sha_out_keys
        values["SHASIGN"] = postfinance_sha(values, settings.test.sha_out, settings.hash_algorithm, keys)
        body = urllib.parse.urlencode(values)
        method, path = channel.split()
        if method == "GET":
            answer = send(app, method, path, query=body)
        else:
            answer = send(app, method, path, body.encode("ascii"), "application/x-www-form-urlencoded")
        assert answer.status_int in (200, 303, 400, 404), (answer.status, answer.text[:300])

    run()


# Found by the fuzzer ----------------------------------------------------------------------------


def test_start_form_declared_latin1_is_decoded_not_a_500(app, make_config, db):
    """WebOb raised DeprecationWarning (so a 500) on any form not declared UTF-8."""
    config = make_config()
    params = start_params(config, "550", "Café-1", "Crème brûlée")
    body = urllib.parse.urlencode(params, encoding="latin-1").encode("ascii")
    answer = send(
        app, "POST", "/paiements/start/", body, "application/x-www-form-urlencoded; charset=ISO-8859-1"
    )
    assert answer.status_int == 200 and answer.json["status"] == "OK"
    stored = db.run(
        lambda session: session.execute(text("SELECT reference, extra_data FROM transactions")).all()
    )
    assert [tuple(row) for row in stored] == [("Café-1", "Crème brûlée")]


def test_form_in_an_unknown_charset_is_a_400(app):
    answer = send(
        app, "POST", "/paiements/start/", b"a=b", "application/x-www-form-urlencoded; charset=klingon"
    )
    assert answer.status_int == 400 and answer.json["status"] == "ERROR"
    answer = send(app, "POST", "/paiements/ipn", b"a=b", "application/x-www-form-urlencoded; charset=klingon")
    assert answer.status_int == 400
    answer = send(
        app, "POST", "/paiements/ipn", b"a=\xff", "application/x-www-form-urlencoded; charset=ascii"
    )
    assert answer.status_int == 400


def test_admin_sign_in_form_declared_latin1_is_no_500(app):
    """The same WebOb trap in Pyramid's CSRF check of the sign-in form (found by the fuzzer)."""
    body = "username=caf\xe9&password=x".encode("latin-1")
    answer = send(app, "POST", "/admin/login", body, "application/x-www-form-urlencoded; charset=latin-1")
    assert answer.status_int < 500


def test_parameters_that_are_not_utf8_are_a_400_everywhere(app):
    """GET /admin/login?%80 was a 500 (UnicodeDecodeError in the sign-in view); found by the fuzzer."""
    for method, path in (("GET", "/admin/login"), ("GET", "/paiements/return"), ("GET", "/sandbox/")):
        assert send(app, method, path, query="%80").status_int == 400, path
    # A form body is decoded leniently by WebOb (U+FFFD), so it reaches the views: no 500 either.
    assert (
        send(app, "POST", "/admin/login", b"username=\xff", "application/x-www-form-urlencoded").status_int
        == 400
    )
    # Refused at the door, each in its client's shape: PROTOCOL §2 for a start, §7 for the API.
    answer = send(app, "POST", "/paiements/start/", query="%80")
    assert answer.status_int == 400 and answer.json == {"status": "ERROR", "url": ""}
    answer = send(app, "POST", "/api/transactions/", query="%80")
    assert answer.status_int == 400 and answer.json["result"] == "error"


def test_multipart_form_without_boundary_is_a_400(app):
    """Pyramid's CSRF check parsed it and failed (a 500 on the sign-in form); found by the fuzzer."""
    assert send(app, "POST", "/admin/login", b"", "multipart/form-data").status_int == 400
    body = b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--\r\n"
    answer = send(app, "POST", "/admin/login", body, "multipart/form-data; boundary=x; charset=latin-1")
    assert answer.status_int == 400  # forms in UTF-8 only: transcoding would mean parsing it


@settings(FUZZ, max_examples=max(1, FUZZ.max_examples // 5))  # each example verifies an argon2 hash
@given(
    target=st.one_of(
        st.text(max_size=80).map(lambda text: "/admin/" + text),
        st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=40),
        st.sampled_from(["/admin/\r\nSet-Cookie: x=1", "/admin/\n", "/admin/\x00", "/admin/\x85"]),
    )
)
def test_sign_in_with_any_next_never_answers_500(app, clean_db, db, target):
    """Issue 16: a CR/LF in ``next`` was a 500; any ``next`` ends on this site's admin pages."""
    import re

    from webtest import TestApp

    from polybanking.models import User

    if not db.run(lambda s: s.query(User).filter_by(username="fuzzer").count()):
        db.run(lambda s: s.add(User(username="fuzzer", password_hash=_fuzzer_hash())))
    client = TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost:80"})
    token = re.search(r'name="csrf_token" value="([^"]*)"', client.get("/admin/login").text).group(1)
    form = {"username": "fuzzer", "password": "fuzzer password 1234", "csrf_token": token, "next": target}
    answer = client.post("/admin/login", form, status="*")
    assert answer.status_int in (303, 400), answer.status
    if answer.status_int == 303:
        assert answer.location.startswith("http://localhost/admin/")
        assert "\r" not in answer.location and "\n" not in answer.location


_hash_cache: list[str] = []


def _fuzzer_hash() -> str:
    from polybanking.auth.passwords import hash_password

    if not _hash_cache:
        _hash_cache.append(hash_password("fuzzer password 1234"))
    return _hash_cache[0]
