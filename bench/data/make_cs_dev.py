"""Writes ``bench/data/cs_dev.csv``, the customer-service development set (see bench/data/README.md).

Hand-written messages plus messages composed from hand-written templates and fillers (domains,
products, waits, typos), seeded, so the file is the same on every run::

    python bench/data/make_cs_dev.py

Labels: ``C`` a complaint (sentiment negative), ``N`` negative but no complaint, ``U`` neutral,
``P`` positive. Nothing here is copied from a public data set; none of it is in the training
examples (tests/nlp/test_sentiment_model.py checks that).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).with_name("cs_dev.csv")
TRAINING = Path(__file__).parents[2] / "nlp" / "data" / "cs_sentiment.yml"

HAND = {
    "C": """
been on the phone 55 mins, got cut off. AGAIN
your hotline hung up on me twice today
I was put on hold for over an hour and then the line went dead
my train got cancelled and the refund form doesn't work
they cancelled my flight again and rebooked me for thursday, useless
the order got cancelled a second time and no one told me why
parcel still hasn't turned up, it's been 12 days
it's been 3 weeks and I still don't have my refund
refund promised 'within 5 days' - that was a month ago
you took the money twice from my account
why have I been charged 2x for one subscription??
there are two identical payments on my statement from you, sort it
the vase came smashed to pieces
the tv arrived with a dead pixel line across the screen
half my shopping was missing and the eggs were broken
got someone else's order, not mine
you've sent the wrong colour twice now
the delivery app says delivered but no parcel, photo shows a door that isn't mine
driver marked it as delivered, it never came
no reply to my three emails, what is going on
I have emailed you every day this week, nothing
I'm explaining this for the fifth time
every agent tells me something different and nothing gets fixed
the bot keeps sending me in circles
the app crashes on checkout every single time
the site has been down since this morning, I can't pay my bill
no internet since saturday and the engineer appointment is next week?!
the wifi cuts out every 10 minutes
paying for fibre, getting dial-up speeds
the fitter didn't turn up and nobody phoned
your engineer was supposed to come between 8 and 12, it's 4pm
the courier was incredibly rude and swore at me
the cashier laughed at me when I asked for a receipt
the person on the phone was really dismissive
possibly the worst service I've had from any company
dreadful service from start to finish
what a shambles
you should be ashamed of this service
that's it, I'm leaving for another bank
I'll take my business elsewhere
closing my account after 12 years because of this
I'd like to escalate this to a manager
I'm reporting this to trading standards
I'll be doing a chargeback
leaving a one star review
you cancelled my hotel booking and still charged my card
my suitcase didn't arrive and the lost baggage desk was closed
still no sign of my luggage, day 4, wearing the same clothes
the plane sat on the runway for 3 hours with no water
we missed the wedding because your flight was delayed, nobody cares
I paid for extra legroom and got a middle seat at the back
my card got declined abroad even though I told you I was travelling
you blocked my account and I can't pay rent
a direct debit was taken twice and now I'm overdrawn
my transfer vanished, the money left my account but never arrived
you said someone would call me back within 24 hours. 3 days ago
still waiting for the callback I was promised
still nothing. not one reply
my order's been stuck on 'preparing' for 9 days
I paid £9.99 for next day delivery and it took a week
the blender stopped working after three uses
the cable frayed after a month, poor quality
the heel came off my boot on the second day
dinner arrived stone cold an hour and a half late
no fries, no drink, wrong burger. brilliant
I keep getting your newsletters even though I opted out ages ago
password reset emails never arrive
the verification code never comes so I can't log in
locked out of my account for a week now
took my money, no order confirmation, no response
I've been overcharged for the third month running
my bill doubled and nobody can explain why
still being billed after cancelling in march
you put the price up and didn't tell anyone
so many hidden charges, a total rip-off
the refund was £20 short
replacement was promised, never sent
looks nothing like the picture
this is simply not acceptable
not acceptable at all!!
very poor, I expected better from you
really let down by the service
fed up of chasing you
passed from pillar to post, nobody takes responsibility
transferred four times, then disconnected
waited 45 minutes in the chat queue for a bot
seriously how long does it take to answer an email
hello? is anybody reading these messages?
why is nobody answering
you closed my case but nothing was done
marked as fixed, still broken
the same problem came back after two days
third repair, same fault
the second replacement is also faulty
screen cracked on arrival
the box was opened and the item is clearly used
you charged me a late fee for your own mistake
the system was down at the airport and I missed my flight
the ground staff were yelling at everyone
bus replacement never showed, stranded at the station at midnight
my reservation disappeared from my account
the activation code is invalid
the update wiped my photos
since the update the app is unusable
you moved me to a more expensive plan without asking
the agent flat out lied to me
you told me tuesday. it's now the following monday
you said it was fixed. it isn't
there's no excuse for treating customers like this
not happy with the service at all
not impressed, to be honest
this is not what I ordered
never again, seriously
won't be using you again
wouldn't recommend you to my worst enemy
the parcel went to a different town and you say I should have checked
the driver claims I wasn't in, I was sat by the door all day
you never pick up the phone
the shop was closed at 2pm on a weekday even though it says open till 6
the shop sent me to you and you sent me back to the shop
I want a full refund today
refund me or I'll take legal action
this company is a scam
scammers, avoid
horrendous experience
appalling. just appalling
my parcel has been 'in transit' for 3 weeks
took my payment for something that was out of stock
you cancelled my order after taking the money and kept it for 10 days
the plumber left a mess and a leak
the installers scratched my floor and won't take responsibility
the meter readings are estimated and way too high
we've had no heating for 4 days, nobody has come
my claim got rejected without any explanation
the claim is taking forever, 8 weeks now
the loan was approved 2 weeks ago and no money yet
card declined at the supermarket even though I have funds
the cash machine kept my card and the bank shrugged
I got charged interest even though I paid in full
I've asked you to close my account four times
you renewed my subscription without telling me
charged 99 for a renewal I never wanted
chat window keeps crashing
the chat just closed after I waited 40 minutes
the contact form gives an error every time
payment failed but the money was taken
the advertised discount wasn't applied and nobody cares
the room was filthy and the sheets were stained
the hire car broke down and the breakdown line never answered
unbelievable. another delay
not again...
cancelled. again. cool.
fantastic, my order is delayed for the fourth time
oh perfect, the replacement is broken too
thanks for absolutely nothing
wow great service, 2 hours on hold
i paid for THIS?
wth is happening with my delivery
3 weeks and still nothing, ridiculous
getting really annoyed now, someone answer me
its been ages, sort it out pls
where's my parcel??? it's 10 days late
my stuff was supposed to come last week, where is it
order late, no updates, no replies
i've asked 5 times now
you lot never reply
ur courier smashed my parcel
still no refund. fuming
paid, got nothing, no reply
I want to make a complaint about your engineer
I'd like to lodge a formal complaint
complaint about the service at your Leeds branch
The quality of the product is very poor.
The item I received was faulty.
I am deeply dissatisfied with how my complaint was handled.
After several phone calls the problem is still not resolved.
I have been with you for 8 years and I am disgusted by this treatment.
You have failed to deliver on time three times in a row.
Your representative gave me completely wrong information.
MY PARCEL IS MISSING
WHERE IS MY MONEY
NOBODY HAS ANSWERED
done with this company
sort your app out
cancel everything, I'm done
the worst airline I've ever flown with
worst phone company, 2 hours to port a number
my bill has calls to numbers I've never called
I was told roaming was free, now I have a 60 euro bill
the salesperson lied about the contract terms
no 4g at my house since the mast work and you keep denying it
replacement router is faulty too and support just reads a script
I've already restarted everything, stop telling me to restart
stop sending me links to the help centre, I've read it
""",
    "N": """
I'm a bit worried the gift won't arrive in time for christmas
I'm nervous about entering my card details
unfortunately I need to cancel because my dad is in hospital
I think I've lost my wallet with the card in it
my phone was stolen on the bus
I think I ordered two by accident
I'm afraid I put the wrong postcode
my cat knocked the lamp over and broke it, can I buy a new shade?
sadly the jacket is too small, how can I send it back?
sorry to message again
I'm a bit lost with the new billing system
I don't really understand the new charges on my bill
my husband died last month and I need to take his name off the account
rough few weeks, I missed a payment
I cracked my screen, can you fix it?
I spilled coffee on the keyboard, is that covered?
I'm really stressed about the mortgage payment
I'm worried someone has got into my account
feeling daft, locked myself out again
sorry, I can't make the appointment
shame the green one sold out
gutted I missed the sale
sad to cancel but I'm moving to Spain
my mistake, I ordered the wrong size
got a dodgy text pretending to be you, is it a scam?
I'm finding the app hard to use
money is tight this month, can I delay the payment?
I'm scared of flying, can I get an aisle seat?
""",
    "U": """
where's my order
order status for 11823 please
when is my delivery coming?
has my parcel been sent?
can you check where my package is
how can i change my password
i forgot my password, help
how do I change the email on my account?
where do I update my card?
what time do you close today?
are you open on bank holidays?
do you ship to Australia?
how much is delivery to France?
can I send it to my work address instead?
can I collect from the shop?
I want to send something back
how do returns work?
how many days do I have to return?
can I swap this for a medium?
I'd like to cancel order 44210
cancel my membership please
how do I stop my subscription?
how do I upgrade to premium?
can my partner use my account too?
is this available in black?
when is the red one back in stock?
when does the new version come out?
how long do refunds usually take?
I returned it on monday, when will I get the refund?
can you email me the invoice?
can I have a VAT receipt?
do you take apple pay?
can I pay by bank transfer?
is there a discount for NHS staff?
do you have any discount codes?
how do I use a voucher?
the order number is 77345
my email address is mark@example.org
booking is under Jones
my reference is ZX9981
yes please
no thanks
okay
that's everything
hey
hi, quick question
morning
can I talk to someone about my bill?
can I speak to an advisor?
what's your phone number?
any update on T-2231?
can you send the tracking number again?
tracking is JD014600006281234567
I've moved, how do I change my address?
how do I set up a standing order?
how do I send money to the US?
what's the limit for contactless?
I need a new card
how do I activate the card you sent?
can I raise my overdraft limit?
what's the savings rate at the moment?
how much data have I used?
can I keep my number when I change network?
how do I check my voicemail?
does my plan work in the US?
what's my PUK?
can I choose my seat?
how do I add hold luggage?
how many kg can I take?
is flight BA123 on time?
when does check-in close?
can I take my cat in the cabin?
how do I install it on a mac?
is there a linux version?
where is my product key?
how do I download my data?
do you have an API for developers?
can I book a demo?
what does the pro plan include?
I'd like an appointment next week
can I move my appointment to monday?
do I have to be in for the delivery?
can the driver leave it in the porch?
please leave the parcel with number 12
call me back on 020 7946 0018 please
I'm in after 6
what size would you recommend, I'm a size 10?
can it go in the dishwasher?
is VAT included?
can I order over the phone?
can you resend my confirmation?
I didn't receive the confirmation email
I need to correct the name on the ticket
is there a car park?
do you deliver abroad?
did my payment go through?
did you get my documents?
I've filled in the form, what's next?
what ID do I need?
how do I report my card lost?
can you send me my contract?
when will my next bill come?
why is this month's bill different?
what is the charge from 3rd march?
there's a payment on my statement I don't recognise, what is it?
what does the warranty cover?
does the warranty work in Germany?
how do I set up the router?
where do I find the wifi password?
how do I connect my phone to the printer?
question about order 5567
checking on my order
any news on my ticket?
any update on the refund?
following up on my message from last week
I phoned earlier about the delivery
here's the photo you asked for
receipt attached
attached
it's the model K300
my account number is 87654321
my address is 22 Acacia Avenue
do you have anyone who speaks French?
is there a store in Manchester?
do you have any jobs?
do you do business accounts?
will you match a cheaper price?
can I pay in instalments?
when is black friday?
how can I contact you?
need help with my account
help please
I need some help
issue with my order
I have a problem with my login
I have a question about my bill
can you help me return something?
where can I make a complaint?
how do complaints work?
what does error 500 mean?
I get an error at login, what do I do?
the app says "token expired", what should I do?
is the website down for maintenance?
can I change the order before it's sent?
can I add something to my order?
can I still cancel?
if I cancel will I get my money back?
is there a cancellation fee?
what if I'm out when it comes?
can you deliver on sunday?
how much is next day delivery?
do you do free delivery?
can you gift wrap it?
order 33210, please deliver to reception
my new address is 9 Mill Lane, York
i picked the wrong colour, can i change it
wheres my order
when wil my parcle arive
how do i chnage my pasword
can u check my delivery
pls send me the tracking
order status pls
refund?
hello, can I change my delivery date?
Good afternoon, I am writing to ask about my application.
Could you tell me how to change my registered address?
I would like to cancel my booking for Friday.
Could you explain what the premium plan includes?
Can I put my gym membership on hold?
Please delete my account.
Can I transfer the ticket to my friend?
How long is the guarantee on the battery?
How long does delivery take to Wales?
Are there vegan options?
Do you still make the old model?
Can I pick up my repair on Thursday?
Is my repair done?
how do I mute notifications
how do I close my account
can i change my display name
how do you protect my data?
do you keep my card on file?
it's a present, can someone else sign for it?
do I need to print my boarding pass?
what's the difference between the two models?
I'm looking for a charger for an older model
can I get it engraved?
do you have a size guide?
how do I book a click and collect slot?
can I change the pin on my card?
what's the IBAN for payments?
can I get paper statements?
is there a family plan?
how do I port my number?
is there an outage in my area?
what's the minimum contract length?
can I cancel within 14 days?
do you have wheelchair assistance at the airport?
can I change the name on my flight?
what's the check-in time at the hotel?
is breakfast included?
can I get a late checkout?
how do I add a team member?
does it integrate with slack?
is there a free trial?
how do I change my billing cycle?
where can I download the invoice?
""",
    "P": """
thanks so much, really helpful
thank you, that fixed it
brilliant service, thanks
parcel came this morning, thank you!
received, many thanks
perfect, thanks a lot
great stuff, cheers
you've been a massive help
the lady on the phone was fantastic and fixed it straight away
delivery was super quick, really pleased
love it, will buy again
great service as usual
thanks for getting back to me so fast
really appreciate your help today
refund received, thank you
all working now, thanks!
the engineer was brilliant
thank you for going above and beyond
best customer service I've had
you're the best
impressed, that was quick
the latest update is brilliant
the app works so much better now
really happy with it
quality is excellent
10/10
would recommend
good news, thank you
thanks for the heads up
no problem at all, thanks
no worries, thanks for checking
that's fine, thanks
ok, thank you
great, thanks
nice, cheers
amazing 😊
thanks 🙏
love it ❤️
thank you :)
not bad at all, thanks
honestly not bad, arrived on time
not a bad service at all
really couldn't be happier
faultless service
no complaints here
never had any issues with you, great company
the delivery driver was so friendly
the cabin crew were lovely
check-in was a breeze
the hotel was lovely, thanks
thank you for sorting the fraud so quickly
thanks for the fair refund
the new one works perfectly
much obliged
you made my day
you're a star
easy peasy, thanks
nice one, thanks
thanks Tom, appreciate your patience
Thank you for your swift assistance.
I really appreciate the help with my account today.
The delivery arrived on time and was well packaged.
Lovely experience, your staff were very helpful.
Very satisfied with the repair, thank you.
Thanks for keeping me updated!
thnx
tyvm!!
thank uuu
cheers pal
you legend
finally working, thanks a million
glad we got it sorted
thanks, have a great weekend
brilliant, see you tomorrow
sounds great
fab
super quick reply, love it
broadband is flying since the upgrade
the new tariff is cheaper, thanks
keep it up
very happy customer
your app is great
arrived a day early, great job
thanks for the voucher!
what a nice surprise, thank you
""",
}

# Composed messages: (label, template). Fillers below; "{wait}" etc. are picked at random.
TEMPLATES = [
    ("C", "I've been waiting {wait} for my {thing} and nobody {answers}"),
    ("C", "my {thing} still hasn't arrived after {wait}"),
    ("C", "{wait} on hold and then {hangup}"),
    ("C", "the {item} I got is {broken}"),
    ("C", "this is the {nth} time I'm contacting you about my {thing}"),
    ("C", "you charged me {twice} for my {thing}"),
    ("C", "still no {thing} after {wait}, {angry}"),
    ("C", "my {thing} was cancelled again, {angry}"),
    ("C", "{angry}. {wait} and still nothing"),
    ("C", "the {staff} was {rude}"),
    ("C", "I'm {leaving} because of how you handled my {thing}"),
    ("U", "{greet} can you tell me {question}"),
    ("U", "{greet} {question}"),
    ("U", "quick question: {question}"),
    ("U", "where is my {thing}? order {num}"),
    ("U", "my {thing} reference is {num}, can you check it?"),
    ("U", "I'd like to {request}"),
    ("U", "{greet} I want to {request}"),
    ("P", "{thanks}, {praise}"),
    ("P", "{praise}! {thanks}"),
    ("P", "the {staff} was {nice}, {thanks}"),
    ("N", "I'm {worried} that my {thing} {worry}"),
]
FILL = {
    "wait": ["2 weeks", "10 days", "a month", "three weeks", "45 minutes", "over an hour", "5 days", "6 wks"],
    "thing": ["order", "refund", "parcel", "replacement", "repair", "booking", "claim", "new card", "router"],
    "answers": ["answers", "replies", "has called me back", "has got back to me", "has updated me"],
    "hangup": ["the call got cut off", "they hung up", "the line went dead", "the chat closed"],
    "item": ["kettle", "phone case", "jacket", "laptop", "sofa", "headphones", "mattress", "lamp"],
    "broken": ["broken", "cracked", "not working", "scratched all over", "the wrong one", "missing parts"],
    "nth": ["third", "fourth", "5th", "sixth"],
    "twice": ["twice", "two times", "double"],
    "angry": ["ridiculous", "this is a joke", "unacceptable", "so fed up", "not good enough", "terrible service"],
    "staff": ["driver", "agent", "engineer", "cashier", "pilot", "receptionist", "advisor"],
    "rude": ["really rude", "rude and unhelpful", "dismissive", "shouting at me", "very unprofessional"],
    "leaving": ["cancelling my contract", "switching provider", "closing my account", "never ordering again"],
    "greet": ["hi,", "hello,", "hey", "good morning,", "", "hiya"],
    "question": [
        "when my order ships?",
        "how to reset my pin?",
        "what your opening hours are?",
        "if you deliver on weekends?",
        "how to change my plan?",
        "where to find my invoice?",
        "how long a refund takes?",
        "whether the item is in stock?",
    ],
    "num": ["10234", "AB-5521", "778812", "T-3310", "99120"],
    "request": [
        "change my delivery address",
        "update my phone number",
        "cancel my subscription",
        "book an appointment",
        "return an item",
        "add a bag to my flight",
        "switch to paperless billing",
    ],
    "thanks": ["thank you", "thanks a lot", "many thanks", "cheers", "thx", "thanks so much"],
    "praise": ["great service", "really quick", "all sorted now", "very helpful", "works perfectly", "spot on"],
    "nice": ["really friendly", "lovely", "so helpful", "very patient", "brilliant"],
    "worried": ["worried", "a bit anxious", "nervous", "concerned"],
    "worry": ["won't arrive before my holiday", "might get lost while I'm away", "won't fit"],
}
COMPOSED_PER_TEMPLATE = 32
TYPO_RATE = 0.15


def _typo(text: str, rng: random.Random) -> str:
    """Lower-case, drop an apostrophe or swap two letters: how people type on phones."""
    choice = rng.random()
    if choice < 0.4:
        return text.lower()
    if choice < 0.7:
        return text.replace("'", "")
    words = text.split()
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 3:
        j = rng.randrange(len(w) - 1)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def rows() -> list[tuple[str, str, int, str]]:
    """(text, sentiment, complaint, source) rows: hand-written, then composed; no duplicates."""
    labels = {"C": ("negative", 1), "N": ("negative", 0), "U": ("neutral", 0), "P": ("positive", 0)}
    import yaml

    groups = yaml.safe_load(TRAINING.read_text(encoding="utf-8"))["examples"]
    taken = {" ".join(str(t).lower().split()) for texts in groups.values() for t in texts}
    out: dict[str, tuple[str, str, int, str]] = {t: ("", "", 0, "") for t in taken}  # not in dev
    for code, block in HAND.items():
        for line in block.strip().splitlines():
            text = line.strip()
            if text:
                out.setdefault(text.lower(), (text, *labels[code], "hand"))
    rng = random.Random(23)
    for code, template in TEMPLATES:
        for _ in range(COMPOSED_PER_TEMPLATE):
            text = template.format(**{k: rng.choice(v) for k, v in FILL.items()}).strip()
            text = text[0].upper() + text[1:] if rng.random() < 0.5 else text
            if rng.random() < TYPO_RATE:
                text = _typo(text, rng)
            out.setdefault(text.lower(), (text, *labels[code], "composed"))
    return [row for row in out.values() if row[0]]


def main() -> None:
    data = rows()
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["text", "sentiment", "complaint", "source"])
        writer.writerows(data)
    print(f"{OUT}: {len(data)} messages")


if __name__ == "__main__":
    main()
