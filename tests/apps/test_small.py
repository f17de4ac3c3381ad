"""A small unittest module that `python3 -m unittest` runs in a box."""
import unittest

class Arithmetic(unittest.TestCase):
    def test_add(self):
        self.assertEqual(1 + 1, 2)

    def test_sorted(self):
        self.assertEqual(sorted([3, 1, 2]), [1, 2, 3])

    def test_raises(self):
        with self.assertRaises(ZeroDivisionError):
            1 / 0

if __name__ == "__main__":
    unittest.main()
