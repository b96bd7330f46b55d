"""Whole, realistic embeds as publishers paste them (no corpus feed has them, so the evidence
pack had no hit there): Mailchimp's and ConvertKit's signup forms, ad labels with their slots,
a rendered Outbrain box, Twitter's tweet embed. Each goes, or loses only its chrome, through
every default pack; next to each, an article that talks about the same thing keeps every
word (text markers, as tests/textmarkers.py reads them)."""

from __future__ import annotations

import pytest

from proxy.clean import Ruleset, clean, clean_items
from tests import textmarkers

INTRO = (
    "<p>Our survey of 2,000 readers found that most of them read on a phone, in the evening,"
    " and that they want fewer but longer pieces.</p>"
)
OUTRO = "<p>The full data set is linked below, with the code we used to weigh the answers.</p>"

MAILCHIMP = (
    '<div id="mc_embed_signup"><form action="https://example.us1.list-manage.com/subscribe/post'
    '?u=0123456789abcdef&amp;id=fedcba9876" method="post" id="mc-embedded-subscribe-form"'
    ' name="mc-embedded-subscribe-form" class="validate" target="_blank" novalidate>'
    '<div id="mc_embed_signup_scroll"><h2>Subscribe to our newsletter</h2>'
    '<div class="indicates-required"><span class="asterisk">*</span> indicates required</div>'
    '<div class="mc-field-group"><label for="mce-EMAIL">Email Address <span class="asterisk">'
    '*</span></label><input type="email" value="" name="EMAIL" class="required email"'
    ' id="mce-EMAIL"></div><div id="mce-responses" class="clear"><div class="response"'
    ' id="mce-error-response" style="display:none"></div><div class="response"'
    ' id="mce-success-response" style="display:none"></div></div>'
    '<div style="position: absolute; left: -5000px;" aria-hidden="true"><input type="text"'
    ' name="b_0123456789abcdef_fedcba9876" tabindex="-1" value=""></div><div class="clear">'
    '<input type="submit" value="Subscribe" name="subscribe" id="mc-embedded-subscribe"'
    ' class="button"></div></div></form></div>'
)
CONVERTKIT = (
    '<form action="https://app.convertkit.com/forms/1234567/subscriptions" class="seva-form'
    ' formkit-form" method="post" data-sv-form="1234567" data-uid="abcdef1234"'
    ' data-format="inline" data-version="5"><div data-style="clean"><ul class="formkit-alert'
    ' formkit-alert-error" data-element="errors" data-group="alert"></ul><div'
    ' data-element="fields" class="seva-fields formkit-fields"><div class="formkit-field">'
    '<input class="formkit-input" name="email_address" aria-label="Email Address"'
    ' placeholder="Email Address" required="" type="email"></div><button data-element="submit"'
    ' class="formkit-submit"><div class="formkit-spinner"><div></div><div></div></div>'
    '<span>Subscribe</span></button></div><div data-element="guarantee"'
    ' class="formkit-guarantee"><p>We won\'t send you spam. Unsubscribe at any time.</p></div>'
    '<div class="formkit-powered-by-convertkit-container"><a href="https://convertkit.com/'
    'features/forms?utm_campaign=poweredby" data-element="powered-by"'
    ' class="formkit-powered-by-convertkit" target="_blank" rel="nofollow">Built with'
    " ConvertKit</a></div></div></form>"
)
AD_SLOT = (
    '<div class="ad-container"><p class="ad-label">Advertisement</p>'
    '<div id="div-gpt-ad-1612345678901-0" style="min-width: 300px; min-height: 250px;"></div>'
    "</div>"
)
AD_LABEL_ALONE = "<p>ADVERTISEMENT</p>"
OUTBRAIN = (
    '<div class="OUTBRAIN" data-src="https://news.example/2021/05/survey" data-widget-id="AR_1">'
    '<div class="ob-widget ob-feed-layout AR_1"><div class="ob-widget-header">Recommended for'
    ' you</div><ul class="ob-widget-items-container"><li class="ob-dynamic-rec-container">'
    '<a class="ob-dynamic-rec-link" href="https://paid.outbrain.com/network/redir?p=abc&amp;c=1">'
    '<span class="ob-rec-text">Doctors stunned by this one trick</span></a>'
    '<span class="ob-rec-source">Brand Name</span></li><li class="ob-dynamic-rec-container">'
    '<a class="ob-dynamic-rec-link" href="https://paid.outbrain.com/network/redir?p=def&amp;c=2">'
    '<span class="ob-rec-text">The 10 best gadgets of the year</span></a></li></ul>'
    '<div class="ob_what"><a href="https://www.outbrain.com/what-is/default/en">What is'
    "</a></div></div></div>"
)
TWEET = (
    '<blockquote class="twitter-tweet" data-lang="en"><p lang="en" dir="ltr">We just shipped'
    ' the new reader view, and it is fast. <a href="https://t.co/AbCdEf123">https://t.co/'
    'AbCdEf123</a></p>&mdash; Jane Dev (@janedev) <a href="https://twitter.com/janedev/status/'
    '1367890123456789012?ref_src=twsrc%5Etfw">March 5, 2021</a></blockquote>'
    '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>'
)
TWEET_RENDERED = (  # a plugin-rendered card, with Twitter's intent buttons
    '<div class="tweet"><blockquote class="twitter-tweet"><p>Reading feeds without the junk,'
    ' finally.</p>&mdash; Ann Example (@ann) <a href="https://x.com/ann/status/42">June 1, 2024'
    '</a></blockquote><div class="tweet-actions"><a href="https://x.com/intent/tweet?'
    'in_reply_to=42">Reply</a> <a href="https://x.com/intent/retweet?tweet_id=42">Retweet</a>'
    ' <a href="https://x.com/intent/like?tweet_id=42">Like</a> <a href="https://x.com/ann"'
    ' class="twitter-follow-button">Follow @ann</a></div></div>'
)

# (id, html, words that must be gone, rules that must have fired)
JUNK = [
    (
        "mailchimp",
        INTRO + MAILCHIMP + OUTRO,
        ("newsletter", "indicates required", "Email"),
        {"evidence.subscription_forms"},
    ),
    (
        "convertkit",
        INTRO + CONVERTKIT + OUTRO,
        ("spam", "ConvertKit", "Subscribe"),
        {"evidence.subscription_forms"},
    ),
    ("ad-slot", INTRO + AD_SLOT + OUTRO, ("Advertisement", "gpt-ad"), None),
    ("ad-label", INTRO + AD_LABEL_ALONE + OUTRO, ("ADVERTISEMENT",), {"evidence.ad_labels"}),
    (
        "outbrain",
        INTRO + OUTBRAIN + OUTRO,
        ("Doctors stunned", "What is", "outbrain"),
        {"evidence.widget_tokens"},
    ),
    (
        "tweet-chrome",
        INTRO + TWEET_RENDERED + OUTRO,
        ("Retweet", "Follow @ann", ">Reply<"),
        {"tweets.action_chrome"},
    ),
]


@pytest.mark.parametrize(("html", "gone", "rules"), [c[1:] for c in JUNK], ids=[c[0] for c in JUNK])
def test_the_embed_goes_and_the_article_stays(
    html: str, gone: tuple[str, ...], rules: set[str] | None
) -> None:
    cleaned = clean(html)
    assert cleaned.failed is None
    for word in gone:
        assert word not in cleaned.html, word
    for sentence in ("most of them read on a phone", "the code we used to weigh"):
        assert sentence in cleaned.html
    fired = {r.rule for r in cleaned.removals if r.action == "remove"}
    if rules is not None:
        assert rules <= fired, fired
    assert fired <= {
        "evidence.subscription_forms",
        "evidence.widget_tokens",
        "evidence.ad_labels",
        "tweets.action_chrome",
        "share.endpoint_links",  # (Reply is intent/tweet, a share endpoint: share runs first)
        "empty.elements",
    }


@pytest.mark.parametrize("tweet", [TWEET, TWEET_RENDERED], ids=["twitter-widget", "rendered"])
def test_tweet_text_author_and_link_stay(tweet: str) -> None:
    html = INTRO + tweet + OUTRO
    cleaned = clean(html)
    bare = clean(html, Ruleset(packs=()))
    root = textmarkers.fragment(cleaned.html)
    quote = root.find(".//blockquote")
    assert quote is not None
    before = textmarkers.fragment(bare.html).find(".//blockquote")
    assert before is not None
    # Every word of the quote, in order, and its status link (tracking parameter dropped).
    assert textmarkers.squeeze(quote.text_content()) == textmarkers.squeeze(before.text_content())
    links = [a.get("href") for a in quote.iter("a")]
    assert any("/status/" in (href or "") for href in links), links
    assert all("ref_src" not in (href or "") for href in links)


# Articles about the same things: every text marker stays (precision over recall).
LOOK_ALIKES = [
    pytest.param(
        "<p>Mailchimp's embedded form asks for an email address and has a Subscribe button;"
        ' its markup starts like this:</p><pre><code>&lt;div id="mc_embed_signup"&gt;&lt;form'
        ' action="https://x.us1.list-manage.com/subscribe/post"&gt;</code></pre>'
        "<p>We found that a form with one field converts twice as well.</p>",
        id="article-about-signup-forms",
    ),
    pytest.param(
        "<p>Outbrain and Taboola paid publishers for the boxes of recommended stories under"
        " their articles, and readers learnt to skip them.</p><h2>Advertisement</h2><p>That is"
        " the word newspapers print above an ad, and it is the title of this section.</p>" + OUTRO,
        id="article-about-recommendation-boxes",
    ),
    pytest.param(
        "<table><tr><th>Advertisement</th><th>Revenue</th></tr><tr><td>Sponsored posts</td>"
        '<td>$1.2M</td></tr></table><figure><img src="https://news.example/ad-1950.jpg">'
        "<figcaption>Advertisement for a refrigerator, 1950</figcaption></figure>" + OUTRO,
        id="table-and-caption-with-ad-words",
    ),
    pytest.param(
        "<blockquote><p>Subscribe to nothing, follow no one, read everything.</p>&mdash; an"
        " old motto</blockquote>" + OUTRO,
        id="quote-with-call-to-action-words",
    ),
]


@pytest.mark.parametrize("html", LOOK_ALIKES)
def test_look_alikes_keep_every_text_marker(html: str) -> None:
    cleaned = clean(html)
    bare = clean(html, Ruleset(packs=()))
    removed: list[textmarkers.Removed] = []
    clean_items([html], marked=lambda _i, tree: removed.append(textmarkers.removed(tree)))
    assert textmarkers.lost_markers(bare, cleaned, removed[0])[2] == []
