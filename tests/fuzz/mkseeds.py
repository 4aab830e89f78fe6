#!/usr/bin/env python3
"""mkseeds.py: regenerate the seed corpora in tests/fuzz/corpus/ (python3 tests/fuzz/mkseeds.py).

The binary layouts are the ones the harnesses document at their top.
"""
import os, struct
R = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
def put(d, name, data):
    os.makedirs(f'{R}/{d}', exist_ok=True)
    open(f'{R}/{d}/{name}', 'wb').write(data)

# ---- message: flags byte (bit0 eof, bit1 -t, bits2-4 argv set, bit5 lower-case name, bit6 fill) + message
def msg(flags_eof=1, t=0, argset=0, lower=0, fill=0):
    return bytes([flags_eof | t << 1 | argset << 2 | lower << 5 | fill << 6])
put('message', 'php-crlf', msg(1, 1, 1) +
    b'To: alice@example.com\r\nSubject: Your order\r\nX-PHP-Originating-Script: 1000:contact.php\r\n'
    b'From: "Shop" <shop@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n'
    b'Message-ID: <123.abc@example.com>\r\n\r\nThank you.\r\n.\r\nBye\r\n')
put('message', 'lf-lists', msg(1, 1, 2) +
    b'From: Web <www-data@host.example>\n'
    b'To: "Doe, John" <john@example.com>, jane@example.org (Jane), <@relay.example:bob@example.net>\n'
    b'Cc: carol@example.com\nBcc: dave@example.com, \n'
    b'Subject: =?UTF-8?B?SGVsbG8=?=\n\nbody line\n')
put('message', 'folded', msg(1, 1, 0) +
    b'To: first@example.com,\n second@example.com,\n\tthird@example.com\n'
    b'Subject: a long\n  folded subject\n'
    b'X-PHP-Originating-Script: 33:/var/www/html/\n wp-content/plugins/x.php\n\nbody')
put('message', 'groups', msg(1, 1, 7) +
    b'To: friends: a@example.com, "b (not a comment)" <b@example.com>;, undisclosed-recipients:;\n'
    b'Cc: (comment, with comma) c@example.com, "unterminated <q@example.com>\n\n')
put('message', 'resent', msg(1, 1, 0) +
    b'Resent-From: admin@example.com\nResent-To: new@example.com\nResent-Cc: other@example.com\n'
    b'To: old@example.com\nFrom: x@example.com\nSubject: fwd\n\nforwarded\n')
put('message', 'forged', msg(1, 0, 3) +
    b'X-Additional-Header: id=fake; uid=0; cwd=/root\r\n'
    b'Subject: hi\r\nx-additional-header :folded\r\n continued\r\n'
    b'X-Additional-Headers: not ours\r\n\r\n'
    b'X-Additional-Header: in the body, left alone\r\n')
put('message', 'forged-lower', msg(1, 1, 4, lower=1) +
    b'To: a@example.com\nX-ADDITIONAL-HEADER: id=x\n\n')
put('message', 'no-header', msg(1, 1, 1) + b'\nHello, this has no header section.\n')
put('message', 'body-first', msg(1, 0, 1) + b'Hello there\nTo: not@header.example\n\n')
put('message', 'binary-body', msg(1, 1, 6) +
    b'To: bin@example.com\nContent-Transfer-Encoding: 8bit\n\n'
    + bytes(range(256)) + b'\n.\nno final newline\x00\xff')
put('message', 'fill-cut', msg(0, 1, 0, fill=1) + b'To: a@example.com, b@example.com\nX-Additional-Header: f\n')
put('message', 'many-argv', msg(0, 0, 5) + b'Subject: x\n\nbody\n')
put('message', 'empty', msg(1))
# regressions: the 64 KiB buffer ends at a line end, or inside a field name, in the header section
put('message', 'regress-cut-line-end', msg(0, 1, 0, fill=1) + b'Subject: abcdef\n')
put('message', 'regress-cut-in-name', msg(0, 0, 0, fill=1) + b'ader: forged\nX:x\nX-Additional-He')
# the header tail: whole messages (eof) the harness also writes cut anywhere, the rest in pieces
put('message', 'tail-lines', msg(1, 0, 0) + b'Subject: s\r\nx-additional-header \t : a\r\n\tX-Additional-Header: c\r\n'
    b'From x Sat Jan  3 01:05:34 1996\r\nX-Additional-Headers: n\r\nX-ADDITIONAL-HEADER:\r\n\r\n'
    b'X-Additional-Header: body\r\n')
put('message', 'tail-blanks', msg(1, 0, 0) + b'Subject: s\nX-Additional-Header' + b' ' * 1100 + b': x\n\nbody\n')

# ---- idheader: flags, nfields-1, 3 bytes of 3-bit codes, split (be16), uid (be64), data
def idh(flags, fields, cwd, script, uid=33):
    codes = 0
    for i, f in enumerate(fields):
        codes |= f << (3 * i)
    return (bytes([flags, len(fields) - 1]) + codes.to_bytes(3, 'big') +
            struct.pack('>H', len(cwd)) + struct.pack('>q', uid) + cwd + script)
ID, UID, GID, PID, CWD, SCRIPT = range(6)
put('idheader', 'default-lf', idh(0, [ID, UID, CWD, SCRIPT], b'/var/www/site', b'/var/www/site/index.php'))
put('idheader', 'all-crlf', idh(1, [ID, UID, GID, PID, CWD, SCRIPT],
    '/home/u/www/ünï côde;100%'.encode(), b'/home/u/a\r\nBcc: evil@example.com\x01.php', uid=-1))
put('idheader', 'long-cwd', idh(0, [CWD, SCRIPT, ID], b'/srv/' + b'd' * 1000, b'/x;' * 200))
put('idheader', 'script-none', idh(2 | 4, [SCRIPT, ID], b'/', b'ignored', uid=2**63 - 1))
put('idheader', 'id-only', idh(1, [ID], b'/tmp', b''))
put('idheader', 'dups', idh(8, [CWD, SCRIPT, CWD, SCRIPT, CWD, SCRIPT, CWD, SCRIPT], b'\xff' * 400, b'%' * 400))
put('idheader', 'encode', bytes([0x80, 0x03, 0x85]) + b'/path with spaces/%;\x00\x7f\x80...')
put('idheader', 'encode-small', bytes([0x80, 0x00, 0x01]) + b'abcdef')

# ---- record: see fuzz_record.c for the layout
def sl(b, rep=None):
    assert len(b) < 128
    return bytes([len(b) | (0x80 if rep else 0)]) + (bytes([rep - 1]) if rep else b'') + b
def S(v): return sl(*v) if isinstance(v, tuple) else sl(v)
def q(v): return struct.pack('>q', v)
def rec(f1=0, f2=0, ts=1764183252, nsec=123456789, action=0, mode=0, src=0, uid=33, gid=33, pid=4242,
        host=b'web1', cwd=b'/var/www', script=b'/var/www/index.php', sender=b'bounce@example.com',
        error=b'', frm=b'Web <www@example.com>', subj=b'Hello', mid=b'<1@example.com>', php=b'33:index.php',
        forged=None, parents=(), env=(), argv=(b'sendmail', b'-t', b'-i'), rcpt=(b'a@example.com',), extra=(0, 3)):
    out = bytes([f1, f2 | (1 if forged else 0)]) + q(ts) + q(nsec) + bytes([action, mode, src]) + q(uid) + q(gid) + q(pid)
    out += S(host)
    for bit, v in ((1, cwd), (2, script), (4, sender), (8, error), (0x10, frm), (0x20, subj), (0x40, mid), (0x80, php)):
        if not f1 & bit:
            out += S(v)
    if forged:
        out += bytes([forged - 1])
    out += bytes([len(parents)])
    for ppid, puid, exe, pargv in parents:
        out += q(ppid) + q(puid) + S(exe) + S(pargv)
    out += bytes([len(env)]) + b''.join(S(e) for e in env)
    out += bytes([len(argv)]) + b''.join(S(a) for a in argv)
    if f2 & 2:
        out += bytes(extra)
    else:
        out += struct.pack('>H', len(rcpt)) + b''.join(S(r) for r in rcpt) + bytes(extra)
    return out
put('record', 'typical', rec(f1=8, parents=((4241, 33, b'/bin/dash', b'sh\x00-c\x00/usr/sbin/sendmail -t -i'),
    (4000, 33, b'/usr/bin/php8.2', b'php\x00/var/www/index.php\x00')),
    env=(b'/var/www/index.php', b'/var/www', b'example.com', b'example.com', b'192.0.2.1', b'/contact?x=1')))
put('record', 'passthrough', rec(f1=0xf4, f2=2, action=3, mode=2, src=6, argv=(b'mailq',), error=b'config: bad'))
put('record', 'bytes', rec(host=b'h\xc3\xa9', cwd=b'/tmp/\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80 \xf0\x9f\x98\x80',
    frm=b'\x00\x01\x1f\x7f"\\\n\r\t', subj=b'caf\xc3\xa9 \xe2\x82', forged=2,
    rcpt=(b'x@\xff', b'', b'"q"@example.com')))
put('record', 'huge', rec(cwd=(b'/cwd' * 8, 64), script=(b'\xff\xc3', 64), frm=(b'f' * 100, 30), subj=b'\x01' * 127,
    parents=tuple((i, 0, (b'/usr/bin/e', 20), (b'arg\x00', 30)) for i in range(4)),
    env=tuple((b'v' * 8, 40) for _ in range(6)), argv=tuple((b'-o', 60) for _ in range(80)),
    rcpt=tuple(b'u%d@x' % i for i in range(100)), extra=(255, 255)))
# every value as long as the slices allow and all escaped: the last step's worst case
X = (b'\x01\xff', 64)
put('record', 'max', rec(forged=255, host=X, cwd=X, script=X, sender=X, error=X, frm=X, subj=X, mid=X, php=X,
    uid=-2**63, gid=-2**63, pid=-2**63,
    parents=tuple((-2**63, -2**63, X, (b'\x01\xff\x00', 40)) for i in range(4)),
    env=tuple(X for _ in range(6)), argv=tuple(X for _ in range(99)),
    rcpt=tuple(X for _ in range(319)), extra=(255, 255)))
put('record', 'min', rec(f1=0xff, f2=0, host=b'', argv=(), rcpt=(), extra=(0, 0)))

# ---- config
put('config', 'qwrap.conf', open(os.path.join(R, '..', '..', '..', 'contrib', 'qwrap.conf'), 'rb').read())
put('config', 'full', b'''sendmail = "/usr/sbin/sendmail-real";
log = { file = "/var/log/q.log"; syslog = true; };
header = { name = "X-Sender-Id"; fields = ("id", "gid", "pid"); };
on_error = "tempfail";
limits = ( { per = "script"; max = 10; window = "10m"; count = "recipients"; action = "reject"; },
           { per = "cwd"; max = 1000L; window = 86400; action = "log"; } );
exempt_uids = [0, 33, 4294967294];
''')
put('config', 'empty-lists', b'limits = ();\nexempt_uids = [];\n')
put('config', 'bad-relative', b'sendmail = "sendmail";\n')
put('config', 'bad-unknown', b'header = { name = "X-A"; colour = "red"; };\n')
put('config', 'bad-window', b'limits = ( { per = "uid"; max = 1; window = "10y"; } );\n')
put('config', 'bad-fields', b'header = { fields = ["id", "id", "cwd"]; };\n')
put('config', 'bad-syntax', b'sendmail = "/x"\nlog = {\n')
put('config', 'bad-name', b'header = { name = "X Bad:Name"; };\n')
put('config', 'bad-types', b'log = { syslog = "yes"; };\nexempt_uids = [ -1 ];\nheader = { fields = [1]; };\n')
put('config', 'keep-sendmail', b'sendmail = "/opt/real-sendmail";\non_error = "maybe";\n')

# ---- smtp: selector byte (0 command, 1 reply, 2 data through the relay, 3 stuff round trip), size byte, input
put('smtp', 'mail', b'\x00\x40MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME\r\n')
put('smtp', 'rcpt-bare', b'\x00\x08RCPT TO: bob@example.com\r\n')
put('smtp', 'data-verb', b'\x00\x10data\t\r\n')
put('smtp', 'ehlo', b'\x01\x00250-host\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 STARTTLS\r\n')
put('smtp', 'ehlo-mid', b'\x01\x00250-host\r\n250-BINARYMIME\r\n250-SIZE 100\r\n250 8BITMIME\r\n')
put('smtp', 'data-dots', b'\x02\x07Subject: x\r\n\r\n..a\r\n.\rb\r\n...\r\n.\r\nQUIT\r\n')
put('smtp', 'data-lf', b'\x02\x03a\n.b\n.\nRSET\r\n')
put('smtp', 'stuff', b'\x03\x00.\r\n..\r\n.x\n\r.\r\nend')

# ---- fpmstatus: the worker's pid - 1 (2 bytes, big-endian), then php-fpm's FastCGI answer to ?full&json
def fcgi(t, body, pad=0):
    return bytes([1, t, 0, 1, len(body) >> 8, len(body) & 255, pad, 0]) + body + b'\0' * pad
page = (b'Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Type: application/json\r\n\r\n'
        b'{"pool":"site","process manager":"static","start time":1795751050,"slow requests":0, '
        b'"processes":[{"pid":11403,"state":"Running","requests":1,"request method":"GET",'
        b'"request uri":"\\/slow.php?a=x\\n\\"script\\":\\"\\/evil\\", b\\\\","content length":0,'
        b'"user":"-","script":"\\/srv\\/site\\/httpdocs\\/slow.php","last request cpu":0.00,'
        b'"last request memory":0},{"pid":11404,"state":"Idle","request uri":"-","user":"-",'
        b'"script":"-","last request cpu":0.00}]}')
answer = fcgi(6, page[:100], 3) + fcgi(7, b'warn') + fcgi(6, page[100:]) + fcgi(3, b'\0' * 8)
put('fpmstatus', 'full-running', struct.pack('>H', 11403 - 1) + answer)
put('fpmstatus', 'full-idle', struct.pack('>H', 11404 - 1) + answer)

# ---- kproto: the keeper's requests (wrapper/kproto.h): u32 type, then u32 numbers, i64
# numbers and strings as u32 length + bytes + NUL (0xffffffff: none), host order.
def ku(v): return struct.pack('<I', v)
def ki(v): return struct.pack('<q', v)
def ks(v): return ku(0xffffffff) if v is None else ku(len(v)) + v + b'\0'
ID = b'20261206120000.0123456789abcdef'
def krec(action=b'deliver', mode=b'message', argv=(b'sendmail', b'-t'), rcpt=(b'a@x.example',),
         parents=((4242, 1000, b'/usr/bin/php8.2', b'php\0x.php\0'),), env=((b'SCRIPT_FILENAME', b'/srv/x.php'),),
         origin=(b'web', b'ancestor', b'pool=shop', b'title')):
    b = ku(1) + ki(1796558400) + ki(123456789) + ks(ID) + ks(action) + ks(mode) + ks(b'/srv/www') + ks(b'/srv/www/x.php') + ks(b'fd') + ku(0)
    b += b''.join(ks(v) for v in origin)
    b += ku(len(parents)) + b''.join(ki(p) + ki(u) + ks(e) + ks(a) for p, u, e, a in parents)
    b += ku(len(env)) + b''.join(ks(n) + ks(v) for n, v in env)
    b += ku(len(argv)) + b''.join(ks(a) for a in argv)
    b += ks(b'bounce@x.example') + ks(b'"Shop" <s@x.example>') + ks(b'Hi \xc3\xa9') + ks(None) + ks(b'1000:x.php')
    b += ku(1) + ku(len(rcpt)) + b''.join(ks(r) for r in rcpt) + ki(len(rcpt))
    return b + ki(0) + ku(0) + ks(None)
put('kproto', 'record', krec())
put('kproto', 'record-hold-smtp', krec(b'hold', b'smtp', rcpt=(b'a@x', b'b@y'), parents=(), env=(),
                                       origin=(b'ssh', b'ancestor', b'addr=192.0.2.7', b'ancestor-env')))
put('kproto', 'record-passthrough', krec(b'passthrough', b'queue-list', argv=(b'mailq',),
                                         origin=(b'unknown', b'none', None, None)))
put('kproto', 'limits', ku(2) + ki(3) + ks(b'/srv/www/x.php') + ks(b'/srv/www'))
put('kproto', 'hold-open-message', ku(3) + ks(b'/srv') + ks(None) + ks(b'none') + ks(None))
put('kproto', 'hold-open-smtp', ku(3) + ks(b'/srv') + ks(b'/srv/x.php') + ks(b'fpm-status') +
    ks(b's@x.example') + ku(2) + ks(b'a@x.example') + ks(b'b@y.example'))
for t, n in ((4, 'commit'), (5, 'abort')):
    put('kproto', n, ku(t))

# ---- origin: the status and stat of pids 3, 2 and 1, the caller's stat and cgroup, its
# environment, split at "\n--\n" (tests/fuzz/fuzz_origin.c); the caller is uid 1000.
def status(name, ppid, uid, pid=0):
    return (b'Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nPPid:\t%d\nUid:\t%d\t%d\t%d\t%d\n'
            % (name, ppid, uid, uid, uid, uid) + b'\n--\n' +
            b'%d (%s) S %d %d %d 0 -1 4194560 10 0 0 0 1 2 0 0 20 0 1 0 100 1000 100\n'
            % (pid, name, ppid, pid, pid))
def origin(p3, p2, p1, tty=0, cgroup=b'0::/\n', env=b''):
    stat = b'4 (qwrap) x) R 3 4 4 %d -1 4194560 10 0 0 0 1 2 0 0 20 0 1 0 200 1000 100\n' % tty
    return b'\n--\n'.join((p3, p2 or b'\n--\n', p1, stat, cgroup, env))
put('origin', 'fpm', origin(status(b'php-fpm8.2', 2, 1000), status(b'php-fpm8.2', 1, 0),
                            status(b'systemd', 0, 0)))
put('origin', 'sshd', origin(status(b'bash', 2, 1000), status(b'sshd', 1, 0), status(b'init', 0, 0),
                             env=b'SSH_CONNECTION=192.0.2.7 5000 192.0.2.1 22\nTERM=xterm'))
put('origin', 'own-cron', origin(status(b'cron', 1, 1000), b'', status(b'init', 0, 0)))
put('origin', 'unit', origin(status(b'mailerd', 1, 1000), b'', status(b'systemd', 0, 0),
                             cgroup=b'1:name=systemd:/system.slice/a.service\n0::/user.slice/'
                                    b'user-1000.slice/user@1000.service/app.slice/job.service\n'))
put('origin', 'tty', origin(status(b'sh', 1, 1000), b'', status(b'init', 0, 0), tty=34816))

# ---- rewrite: control/virtualdomains, control/locals and a local recipient, split at
# "\n--\n" (tests/fuzz/fuzz_rewrite.c).
def rewrite(vdoms, locals_, addr):
    return b'\n--\n'.join((vdoms, locals_, addr))
put('rewrite', 'vdom', rewrite(b'vd.example:alias-vd\n', b'localhost\n', b'alias-vd-bob@vd.example'))
put('rewrite', 'parent', rewrite(b'# sites\n.example.net:net \nbob@x.example:bob\n', b'',
                                 b'net-a@b.example.net'))
put('rewrite', 'local-wins', rewrite(b'vd.example:vd\n', b'vd.example\n', b'vd-bob@vd.example'))
put('rewrite', 'catch-all', rewrite(b':alias\n', b'', b'alias-x@anywhere'))

# ---- pathclean: the path, as the wrapper saw it or a record has it
put('pathclean', 'dots-and-slashes', b'/var/www//vhosts/./shop/../x.php/.')
put('pathclean', 'relative', b'./a//b/.././')
put('pathclean', 'root', b'//./')

# ---- phpscan: a php.ini, pool and vhost's text; its first line is also the text of
# /usr/sbin/sendmail's link (tests/fuzz/fuzz_phpscan.c)
put('phpscan', 'ini', b'sendmail_path = /usr/sbin/sendmail -t -i\n')
put('phpscan', 'pool', b'../sbin/x\nphp_admin_value[sendmail_path] = "/usr/lib/sendmail -t"\n')
put('phpscan', 'apache', b'/bin/sendmail\n  php_admin_value\tsendmail_path "/usr/sbin/sendmail"\n')
put('phpscan', 'exec', b'exec /usr/sbin/sendmail\nsendmail_path = "exec /usr/sbin/sendmail -t -i" ; x\n'
                       b'[PATH=/var/www]\nsendmail_path=X=1 exec ../../bin/sendmail\n')
