"""The fake OpenAI server as a load target: keep-alive, concurrency without a global lock, arrival windows."""

from __future__ import annotations

import json
import threading

import httpx

from fake_openai import FakeOpenAI, FakeRequest


def _body(stage: str = "relevance", text: str = "GPT-4o image: Prompt: a corgi on the moon") -> dict:
    return {"model": "m", "messages": [
        {"role": "system", "content": f"Step: {stage}\nrate"},
        {"role": "user", "content": f'Rate these 1 posts.\n<post id="p1" author="a" depth=0>{json.dumps(text)}</post>'}]}


def test_keep_alive_serves_many_requests_over_one_connection():
    with FakeOpenAI() as fake, httpx.Client(base_url=fake.base_url) as client:
        answers = [client.post("/chat/completions", json=_body()) for _ in range(5)]
        assert [r.status_code for r in answers] == [200] * 5
        assert {r.http_version for r in answers} == {"HTTP/1.1"}
        assert all(int(r.headers["content-length"]) == len(r.content) for r in answers)
        assert json.loads(answers[0].json()["choices"][0]["message"]["content"])["results"][0]["post_id"] == "p1"
        assert fake.connections == 1 and fake.count("relevance") == 5


def test_a_wrong_path_or_bad_body_keeps_the_connection_usable():
    with FakeOpenAI() as fake, httpx.Client(base_url=fake.base_url) as client:
        assert client.post("/models", json=_body()).status_code == 404
        assert client.post("/chat/completions", content=b"{not json").status_code == 400
        assert client.post("/chat/completions", json=_body()).status_code == 200
        assert fake.connections == 1 and fake.count() == 1


def test_latency_is_slept_without_a_lock_so_requests_overlap():
    n = 16
    start = threading.Barrier(n)
    statuses = []

    def one(url):
        with httpx.Client(base_url=url) as client:
            start.wait()
            statuses.append(client.post("/chat/completions", json=_body()).status_code)

    with FakeOpenAI(latency_s=0.5) as fake:
        threads = [threading.Thread(target=one, args=(fake.base_url,)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * n
        assert fake.max_in_flight == n  # all 16 were inside the server at once, each sleeping its latency
        assert fake.connections == n
    assert fake.server.request_queue_size >= 1024


def test_max_in_window_counts_arrivals_in_a_sliding_window():
    fake = FakeOpenAI()
    for t in (0.0, 10.0, 59.0, 59.9, 60.0, 61.0, 130.0):
        fake.requests.append(FakeRequest("relevance", {}, "", "", 0, False, arrived=t))
    fake.requests.append(FakeRequest("feedback", {}, "", "", 0, False, arrived=60.5))
    assert fake.max_in_window(60.0) == 6  # 10.0 .. 61.0 (with the feedback request at 60.5)
    assert fake.max_in_window(60.0, stage="relevance") == 5
    assert fake.max_in_window(1.0) == 3  # 59.9, 60.0, 60.5
    fake.server.server_close()


def test_a_failing_responder_answers_500_and_is_recorded():
    def broken(req):
        raise RuntimeError("responder bug")

    with FakeOpenAI(responders={"relevance": broken}) as fake, httpx.Client(base_url=fake.base_url) as client:
        r = client.post("/chat/completions", json=_body())
        assert r.status_code == 500 and "responder bug" in r.json()["error"]["message"]
        assert fake.statuses == [500] and len(fake.errors) == 1 and "RuntimeError: responder bug" in fake.errors[0]


def test_image_parts_keep_their_alias():
    body = {"model": "m", "messages": [
        {"role": "system", "content": "Step: image_roles"},
        {"role": "user", "content": [{"type": "text", "text": "Images:\n<image id=i1 post=\"p\">"},
                                     {"type": "text", "text": "Image i1:"},
                                     {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
                                     {"type": "text", "text": "Image i2:"},
                                     {"type": "image_url", "image_url": {"url": "https://x.example/a.png"}}]}]}
    with FakeOpenAI() as fake, httpx.Client(base_url=fake.base_url) as client:
        assert client.post("/chat/completions", json=body).status_code == 200
        (req,) = fake.requests
        assert req.n_images == 2
        assert req.image_parts == [("i1", "data:image/jpeg;base64,AAAA"), ("i2", "https://x.example/a.png")]
