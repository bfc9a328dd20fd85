def test_foreground_status(env, cli):
    r = cli("exec", str(env.config), "echo hi; exit 3")
    assert r.code == 3
    assert "hi" in r.out
