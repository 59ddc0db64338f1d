// gpugate console: enhancements only. Every page reads and every form posts
// without this script; with it, the key value gets a copy button, dangerous
// actions ask first, and the live sections refresh every 2 seconds.
(function () {
	"use strict";
	document.documentElement.dataset.js = "on";
	for (const el of document.querySelectorAll(".js-only")) {
		el.hidden = false;
	}

	for (const button of document.querySelectorAll("button[data-copy]")) {
		const source = document.getElementById(button.dataset.copy);
		if (!source || !navigator.clipboard) {
			continue;
		}
		button.hidden = false;
		button.addEventListener("click", async function () {
			try {
				await navigator.clipboard.writeText(source.textContent);
				button.textContent = "Copied";
			} catch (e) {
				window.getSelection().selectAllChildren(source);
				button.textContent = "Press Ctrl+C";
			}
		});
	}

	for (const form of document.querySelectorAll("form[data-confirm]")) {
		form.addEventListener("submit", function (event) {
			if (!window.confirm(form.dataset.confirm)) {
				event.preventDefault();
			}
		});
	}

	// Live sections (data-live, each with an id) are replaced by the same
	// sections of a fresh copy of this page.
	if (!document.querySelector("[data-live][id]")) {
		return;
	}
	let busy = false;
	async function refresh() {
		if (busy || document.hidden) {
			return;
		}
		busy = true;
		try {
			const response = await fetch(location.href, {cache: "no-store", credentials: "same-origin"});
			if (!response.ok) {
				return;
			}
			const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
			for (const el of document.querySelectorAll("[data-live][id]")) {
				const next = fresh.getElementById(el.id);
				if (next) {
					el.replaceWith(document.importNode(next, true));
				}
			}
			document.documentElement.dataset.refreshed = String(Date.now());
		} catch (e) {
			// The next tick tries again (the gateway may be restarting).
		} finally {
			busy = false;
		}
	}
	window.setInterval(refresh, 2000);
})();
