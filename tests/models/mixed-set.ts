// A small hand-written set for the `mixed` flag (written for Undertow; not from training data):
// posts that hold both a positive and a negative judgement, and posts that hold one or none.
export const mixed = [
  'love the camera but the battery life is terrible', 'great screen, awful speakers', 'the design is beautiful, the software is a buggy mess',
  'fast delivery but the box was crushed', 'amazing sound, uncomfortable after an hour', 'the app is great when it works, which is rarely',
  'good price, bad support', 'I like the new look but hate the slow menus', 'the food was delicious but the service was rude',
  'nice update, shame it drains the battery', 'brilliant camera, disappointing battery', 'happy with the phone, angry at the shipping delay',
  'the keyboard is lovely, the trackpad is awful', 'beautiful hotel, terrible wifi', 'helpful staff, painfully slow checkout',
  'love it, but the price is ridiculous', 'works well, but it feels cheap', 'excellent battery, horrible screen glare',
  'the new features are cool but the bugs are annoying', 'good idea, poor execution',
]

export const single = [
  'love the camera and the screen is great', 'the battery life is terrible and the speakers are awful', 'best phone I have ever owned',
  'worst customer service ever', 'the store opens at nine', 'my order arrived today', 'really happy with the upgrade, everything is faster',
  'this update broke everything, so frustrating', 'beautiful design and a great price', 'slow, buggy and overpriced',
  'the delivery was quick and the packaging was neat', 'the screen cracked after a week, useless', 'what time does the event start?',
  'thanks for the quick fix, works perfectly now', 'still no reply from support, awful', 'the colours are stunning and the sound is rich',
  'it keeps crashing and the battery dies fast', 'the meeting moved to thursday', 'such a lovely surprise, thank you', 'never buying from them again',
]
