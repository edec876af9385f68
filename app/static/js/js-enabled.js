/* Loaded in <head>, before anything is drawn: marks the page as having JavaScript, so that
   the stylesheet shows the header's collapsible navigation (Bootstrap's) and the disclosure
   buttons only where they can work. Without JavaScript every link is shown, open. */
document.documentElement.classList.add("js");
