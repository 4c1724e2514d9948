() => {
  // Selecting [n] in a reply shows that source; opening an article scrolls its highlighted sentence into view.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href^='#qa-source-']");
    if (!link) return;
    event.preventDefault();
    const card = document.getElementById(link.getAttribute("href").slice(1));
    if (!card) return;
    document.querySelectorAll(".qa-source.qa-selected").forEach((c) => c.classList.remove("qa-selected"));
    card.classList.add("qa-selected");
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
  });
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!details.classList || !details.classList.contains("qa-article") || !details.open) return;
    const mark = details.querySelector("mark");
    if (mark) mark.scrollIntoView({ block: "center" });
  }, true);
}
