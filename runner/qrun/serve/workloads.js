// The Workloads page: sign in with an API key as the API does (IAM token, then the
// instances it reaches), then poll the server-rendered view of the chosen instance.
// The token lives only in this page's memory; nothing is stored.
"use strict";
(function () {
  const poll = Math.max(100, Number(new URLSearchParams(location.search).get("poll")) || 1000);
  const $ = (id) => document.getElementById(id);
  let token = null;
  let selectedJob = null;
  let timer = null;

  function signOut(message) {
    token = null;
    selectedJob = null;
    if (timer) clearInterval(timer);
    timer = null;
    $("filters").hidden = true;
    $("signin").hidden = false;
    $("view").textContent = "";
    $("message").textContent = message || "";
  }

  async function refresh() {
    if (!token) return;
    const query = new URLSearchParams();
    for (const name of ["status", "backend", "tag"]) {
      const value = $(name).value.trim();
      if (value) query.set(name, value);
    }
    if (selectedJob) query.set("job", selectedJob);
    let answer;
    try {
      answer = await fetch("/workloads/view?" + query, {
        headers: { Authorization: "Bearer " + token, "Service-CRN": $("instance").value },
      });
    } catch (error) {
      $("message").textContent = "The service does not answer.";
      return;
    }
    if (answer.status === 401) { signOut("Signed out: the access token expired."); return; }
    if (!answer.ok) { $("message").textContent = "The service said " + answer.status + "."; return; }
    $("message").textContent = "";
    $("view").innerHTML = await answer.text();  // rendered and escaped by the service
  }

  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = new URLSearchParams({
      grant_type: "urn:ibm:params:oauth:grant-type:apikey",
      apikey: $("apikey").value,
    });
    const answer = await fetch("/identity/token", { method: "POST", body });
    $("apikey").value = "";
    if (!answer.ok) { $("message").textContent = "That API key is not known here."; return; }
    token = (await answer.json()).access_token;
    const search = await fetch("/search/v3/resources/search", {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: "{}",
    });
    const items = search.ok ? (await search.json()).items : [];
    $("instance").replaceChildren(...items.map((item) => new Option(item.name, item.crn)));
    $("message").textContent = "";
    $("signin").hidden = true;
    $("filters").hidden = false;
    await refresh();
    timer = setInterval(refresh, poll);
  });
  $("filters").addEventListener("change", () => { selectedJob = null; refresh(); });
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  $("signout").addEventListener("click", () => signOut(""));
  $("view").addEventListener("click", (event) => {
    const row = event.target.closest("[data-job]");
    if (row) { selectedJob = row.dataset.job; refresh(); }
    if (event.target.closest("[data-close-detail]")) { selectedJob = null; refresh(); }
  });
})();
