import { SignIn } from '@/components/layout/SignIn';

export default function SignInPage() {
  return <SignIn />;
}
